import { useState } from 'react';
import { Badge, Button, Card, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { api, saveBlob } from '../api';
import { DecisionBadge, Failure, Loading, useApi, Pre, RowsTable } from './common';
import type { PageProps } from './common';

/** An audit row as GET /v1/audit answers it (docs/audit-schema.md); only the fields the console shows. */
export interface AuditRow {
  readonly seq: number;
  readonly time: string;
  readonly event: string;
  readonly request_id: string;
  readonly user: { readonly sub: string | null; readonly email?: string };
  readonly agent?: { readonly name: string; readonly tier: string; readonly delegation_chain: readonly string[] };
  readonly tool?: { readonly server: string; readonly name: string };
  readonly data_classes?: readonly string[];
  readonly policy: {
    readonly decision: string;
    readonly bundle_hash: string;
    readonly determining_policies: readonly string[];
    readonly reasons: readonly string[];
  };
  readonly redactions: { readonly count: number; readonly types: readonly string[] };
  readonly input?: { readonly redacted: unknown };
  readonly alert?: { readonly type: string; readonly severity: string };
  readonly detail?: Record<string, unknown>;
  readonly hash: string;
}

interface Page {
  readonly records: readonly AuditRow[];
  readonly next_after_seq?: number;
}

const FILTERS = ['user', 'agent', 'tier', 'tool', 'data_class', 'resource'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number] | 'decision' | 'from' | 'to', string>>;

function queryOf(filters: Filters, afterSeq = 0): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, k === 'from' || k === 'to' ? new Date(v).toISOString() : v);
  if (afterSeq) q.set('after_seq', String(afterSeq));
  q.set('limit', '100');
  return q.toString();
}

const CSV_COLUMNS = ['seq', 'time', 'event', 'request_id', 'user', 'agent', 'tier', 'tool', 'decision', 'reasons', 'data_classes', 'redactions'] as const;

function csvCell(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: readonly AuditRow[]): string {
  const lines = rows.map((r) =>
    [
      r.seq,
      r.time,
      r.event,
      r.request_id,
      r.user.email ?? r.user.sub,
      r.agent?.name,
      r.agent?.tier,
      r.tool ? `${r.tool.server}/${r.tool.name}` : '',
      r.policy.decision,
      r.policy.reasons.join(' '),
      (r.data_classes ?? []).join(' '),
      r.redactions.count,
    ]
      .map(csvCell)
      .join(','),
  );
  return `${CSV_COLUMNS.join(',')}\n${lines.join('\n')}\n`;
}

export function AuditPage(_props: PageProps) {
  const [filters, setFilters] = useState<Filters>({});
  const [rows, setRows] = useState<AuditRow[] | undefined>();
  const [next, setNext] = useState<number | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<AuditRow | undefined>();

  async function run(afterSeq = 0): Promise<void> {
    setBusy(true);
    setError(undefined);
    try {
      const page = await api<Page>(`/v1/audit?${queryOf(filters, afterSeq)}`);
      setRows((prev) => (afterSeq && prev ? [...prev, ...page.records] : [...page.records]));
      setNext(page.next_after_seq);
      if (!afterSeq) setSelected(undefined);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  /** Every page of the search, as JSONL or CSV. */
  async function exportAll(format: 'jsonl' | 'csv'): Promise<void> {
    const all: AuditRow[] = [];
    let after = 0;
    for (;;) {
      const q = new URLSearchParams(queryOf(filters, after));
      q.set('limit', '1000');
      const page = await api<Page>(`/v1/audit?${q.toString()}`);
      all.push(...page.records);
      if (page.next_after_seq === undefined) break;
      after = page.next_after_seq;
    }
    const text = format === 'csv' ? toCsv(all) : all.map((r) => JSON.stringify(r)).join('\n') + '\n';
    saveBlob(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }), `custos-audit.${format}`);
  }

  // The value is read in the handler: React clears the event's currentTarget before a state updater runs.
  const set = (k: keyof Filters) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setFilters((f) => ({ ...f, [k]: value }));
  };
  return (
    <Stack>
      <Title order={1}>Audit explorer</Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <div className="grid grid-5">
          {FILTERS.map((k) => (
            <TextInput key={k} label={k.replace('_', ' ')} name={k} value={filters[k] ?? ''} onChange={set(k)} />
          ))}
          <Select
            label="decision"
            name="decision"
            data={['allow', 'deny', 'confirm']}
            clearable
            value={filters.decision ?? null}
            onChange={(v) => setFilters((f) => ({ ...f, decision: v ?? '' }))}
          />
          <TextInput label="from" name="from" placeholder="2026-01-01T00:00Z" value={filters.from ?? ''} onChange={set('from')} />
          <TextInput label="to" name="to" placeholder="2026-01-02T00:00Z" value={filters.to ?? ''} onChange={set('to')} />
        </div>
        <Group mt="sm">
          <Button type="submit" loading={busy}>
            Search
          </Button>
          <Button variant="outline" disabled={!rows} onClick={() => void exportAll('jsonl').catch(setError)}>
            Export JSONL
          </Button>
          <Button variant="outline" disabled={!rows} onClick={() => void exportAll('csv').catch(setError)}>
            Export CSV
          </Button>
        </Group>
      </form>
      <Failure error={error} />
      {rows && (
        <Card withBorder>
          <Text size="sm" data-testid="result-count">
            {rows.length} row(s){next !== undefined ? ', more available' : ''}
          </Text>
          <RowsTable headers={['seq', 'time', 'event', 'user', 'agent', 'tool', 'decision', 'reasons']} striped highlightOnHover>
            {rows.map((r) => (
              <Table.Tr key={r.seq} className="clickable" data-testid="audit-row" onClick={() => setSelected(r)}>
                <Table.Td>
                  <Button variant="subtle" size="compact-xs" onClick={() => setSelected(r)} aria-label={`Row ${r.seq} detail`}>
                    {r.seq}
                  </Button>
                </Table.Td>
                <Table.Td>{r.time}</Table.Td>
                <Table.Td>{r.event}</Table.Td>
                <Table.Td>{r.user.email ?? r.user.sub ?? '-'}</Table.Td>
                <Table.Td>{r.agent?.name ?? '-'}</Table.Td>
                <Table.Td>{r.tool ? `${r.tool.server}/${r.tool.name}` : '-'}</Table.Td>
                <Table.Td>
                  <DecisionBadge decision={r.policy.decision} />
                </Table.Td>
                <Table.Td>{r.policy.reasons.join(', ')}</Table.Td>
              </Table.Tr>
            ))}
          </RowsTable>
          {next !== undefined && (
            <Button mt="sm" variant="outline" onClick={() => void run(next)}>
              Next page
            </Button>
          )}
        </Card>
      )}
      {selected && <RowDetail row={selected} />}
      <Disclosures />
    </Stack>
  );
}

interface Verification {
  readonly chain: { readonly status: string; readonly rows?: number; readonly first_broken_seq?: number | null };
  readonly checkpoint: { readonly status: string; readonly seq?: number; readonly tree_size?: number; readonly key_id?: string };
  readonly proof: { readonly status: string; readonly reason?: string | null };
}

const STATUS_COLORS: Record<string, string> = { verified: 'green.9', signed: 'green.9', broken: 'red.9', failed: 'red.9' };

function StatusBadge({ label, status }: { label: string; status: string }) {
  return (
    <Badge color={STATUS_COLORS[status] ?? 'gray.8'} data-testid={`verify-${label}`}>
      {label}: {status.replace(/_/g, ' ')}
    </Badge>
  );
}

function RowDetail({ row }: { row: AuditRow }) {
  const verification = useApi<Verification>(`/v1/audit/verify?seq=${row.seq}`);
  const chain = row.agent?.delegation_chain ?? [];
  return (
    <Card withBorder data-testid="row-detail">
      <Title order={2} size="h3">
        Row {row.seq}
      </Title>
      <div className="grid grid-2 spaced">
        <Stack gap="xs">
          <Text>
            <b>Request</b> <span className="mono">{row.request_id}</span>
          </Text>
          <Text>
            <b>Redactions</b> {row.redactions.count} {row.redactions.types.length ? `(${row.redactions.types.join(', ')})` : ''}
          </Text>
          <Text>
            <b>Determining policies</b> {row.policy.determining_policies.join(', ') || 'none'}
          </Text>
          <Text>
            <b>Data classes</b> {(row.data_classes ?? []).join(', ') || 'none'}
          </Text>
          <Text>
            <b>Bundle</b> <span className="mono">{row.policy.bundle_hash}</span>
          </Text>
          <div>
            <Text fw={700}>Delegation chain</Text>
            <div className="chain" data-testid="delegation-chain">
              <Badge color="gray.8">{row.user.email ?? row.user.sub ?? 'anonymous'}</Badge>
              {chain.map((link, i) => (
                <span key={`${link}-${i}`} className="chain">
                  <span className="chain-arrow" aria-hidden="true">
                    →
                  </span>
                  <Badge color="blue.9">{link}</Badge>
                </span>
              ))}
              {row.agent && chain.length === 0 && (
                <span className="chain">
                  <span className="chain-arrow" aria-hidden="true">
                    →
                  </span>
                  <Badge color="blue.9">{row.agent.name}</Badge>
                </span>
              )}
            </div>
          </div>
          <div>
            <Text fw={700}>Verification</Text>
            <Loading loading={verification.loading} />
            <Failure error={verification.error} />
            {verification.data && (
              <Group gap="xs">
                <StatusBadge label="chain" status={verification.data.chain.status} />
                <StatusBadge label="checkpoint" status={verification.data.checkpoint.status} />
                <StatusBadge label="proof" status={verification.data.proof.status} />
              </Group>
            )}
          </div>
        </Stack>
        <div>
          <Text fw={700}>Arguments as recorded (redacted)</Text>
          <Pre label="Arguments as recorded">{JSON.stringify(row.input?.redacted ?? row.detail ?? null, null, 2)}</Pre>
        </div>
      </div>
    </Card>
  );
}

interface DisclosureReport {
  readonly patient: string;
  readonly disclosures: ReadonlyArray<{
    seq: number;
    time: string;
    user: { sub: string; email?: string };
    agent: { name: string };
    tool: string;
    resource: string;
  }>;
}

function Disclosures() {
  const [patient, setPatient] = useState('');
  const [path, setPath] = useState<string | undefined>();
  const report = useApi<DisclosureReport>(path);
  return (
    <Card withBorder>
      <Title order={2} size="h3">
        Accounting of disclosures
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setPath(`/v1/audit/disclosures?patient=${encodeURIComponent(patient)}`);
          report.reload();
        }}
      >
        <Group align="end">
          <TextInput label="patient" name="patient" value={patient} onChange={(e) => setPatient(e.currentTarget.value)} />
          <Button type="submit" disabled={!patient}>
            Report
          </Button>
        </Group>
      </form>
      <Failure error={report.error} />
      {report.data && (
        <RowsTable headers={['seq', 'time', 'user', 'agent', 'tool', 'resource']} mt="sm" data-testid="disclosures">
          {report.data.disclosures.map((d) => (
            <Table.Tr key={d.seq}>
              <Table.Td>{d.seq}</Table.Td>
              <Table.Td>{d.time}</Table.Td>
              <Table.Td>{d.user.email ?? d.user.sub}</Table.Td>
              <Table.Td>{d.agent.name}</Table.Td>
              <Table.Td>{d.tool}</Table.Td>
              <Table.Td className="mono">{d.resource}</Table.Td>
            </Table.Tr>
          ))}
        </RowsTable>
      )}
    </Card>
  );
}
