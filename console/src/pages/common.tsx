import { useCallback, useEffect, useState } from 'react';
import type { ComponentProps, ReactNode } from 'react';
import { Alert, Badge, Button, Group, Loader, Table, TextInput } from '@mantine/core';
import { ApiError, api } from '../api';
import type { ConsoleRole, Me } from '../api';

export interface PageProps {
  readonly me: Me;
}

export const can = (me: Me, ...roles: ConsoleRole[]): boolean => me.roles.some((r) => roles.includes(r));

/** GET a JSON view; `reload` fetches it again. */
export function useApi<T>(path: string | undefined): { data?: T; error?: ApiError | Error; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: ApiError | Error; loading: boolean }>({ loading: path !== undefined });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === undefined) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function Failure({ error }: { error?: Error }) {
  if (!error) return null;
  return (
    <Alert color="red" title={error instanceof ApiError ? error.code : 'Error'} role="alert">
      {error.message}
    </Alert>
  );
}

export function Loading({ loading }: { loading: boolean }) {
  return loading ? <Loader size="sm" role="status" aria-label="Loading" /> : null;
}

const DECISION_COLORS: Record<string, string> = { allow: 'green.9', deny: 'red.9', confirm: 'grape.9' }; // dark enough for white text (axe color-contrast)

export function DecisionBadge({ decision }: { decision: string }) {
  return <Badge color={DECISION_COLORS[decision] ?? 'gray.8'}>{decision}</Badge>;
}

export const SEVERITY_COLORS: Record<string, string> = { high: 'red.9', medium: 'orange.9', low: 'gray.8' };

export function shortHash(hash: unknown): string {
  return typeof hash === 'string' ? hash.slice(0, 12) : '-';
}

/** Preformatted JSON, scrollable and so focusable by keyboard (axe: scrollable-region-focusable). */
export function Pre({ children, label }: { children: string; label: string }) {
  return (
    <pre className="pre" tabIndex={0} aria-label={label}>
      {children}
    </pre>
  );
}

/** A note and one button that POSTs `body(note)` to `path` (acknowledging an alert, closing a review): every such action is a row server-side. */
export function NoteForm(props: { path: string; body: (note: string) => unknown; label: string; submit: string; onDone: () => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<Error | undefined>();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        api(props.path, { method: 'POST', body: props.body(note) }).then(props.onDone, setError);
      }}
    >
      <Group gap="xs" align="end">
        <TextInput size="xs" label={props.label} value={note} onChange={(e) => setNote(e.currentTarget.value)} />
        <Button size="xs" type="submit" disabled={!note}>
          {props.submit}
        </Button>
      </Group>
      <Failure error={error} />
    </form>
  );
}

/** The pages' lists (audit rows, disclosures, tools, kill switches, agents, confirmations, packs): a header row and the rows the page renders, each with its own cells and buttons. */
export function RowsTable({
  headers,
  children,
  ...table
}: { headers: readonly string[]; children: ReactNode } & Omit<ComponentProps<typeof Table>, 'children'>) {
  return (
    <Table {...table}>
      <Table.Thead>
        <Table.Tr>
          {headers.map((h, i) => (
            <Table.Th key={`${i}:${h}`}>{h}</Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>{children}</Table.Tbody>
    </Table>
  );
}
