import { useCallback, useEffect, useState } from 'react';
import { Alert, Badge, Loader } from '@mantine/core';
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
  return loading ? <Loader size="sm" aria-label="Loading" /> : null;
}

const DECISION_COLORS: Record<string, string> = { allow: 'green.9', deny: 'red.9', confirm: 'yellow.9' };

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
