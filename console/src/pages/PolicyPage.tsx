import { useState } from 'react';
import { Badge, Card, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { Failure, Loading, shortHash, useApi, Pre } from './common';
import type { PageProps } from './common';

interface BundleView {
  readonly hash: string;
  readonly name: string;
  readonly version: string;
  readonly mode: string;
  readonly files: number;
  readonly policies: readonly string[];
}
export interface PolicyEvent {
  readonly seq: number;
  readonly time: string;
  readonly action: string;
  readonly new_hash?: string;
  readonly old_hash?: string | null;
  readonly version?: string;
  readonly name?: string;
  readonly mode?: string;
  readonly author?: string | null;
  readonly approvers?: readonly string[];
  readonly approvals?: string;
  readonly emergency?: boolean;
  readonly trigger?: string;
  readonly policies?: readonly string[];
  readonly changes?: unknown;
  readonly reason?: string;
  readonly candidate_hash?: string;
}
export interface PolicyViewData {
  readonly enforced: BundleView;
  readonly shadow: BundleView | null;
  readonly history: readonly PolicyEvent[];
  readonly disagreements: ReadonlyArray<{ seq: number; time: string; user: string | null; tool?: { server: string; name: string }; detail?: unknown }>;
}

function Bundle({ title, b }: { title: string; b: BundleView }) {
  return (
    <Card withBorder>
      <Title order={2} size="h3">
        {title}
      </Title>
      <Text>
        {b.name} v{b.version} <Badge color="gray.8">{b.mode}</Badge>
      </Text>
      <Text className="mono" data-testid="bundle-hash">
        sha256:{b.hash}
      </Text>
      <Text size="sm">
        {b.files} files · policies: {b.policies.join(', ')}
      </Text>
    </Card>
  );
}

/** What changed between two activations: the policies added and removed, and each activation's own change summary in between. */
function Diff({ history }: { history: readonly PolicyEvent[] }) {
  const versions = history.filter((h) => h.action === 'policy_activated');
  const options = versions.map((v) => ({ value: String(v.seq), label: `seq ${v.seq}: ${v.name ?? ''} v${v.version ?? '?'} ${shortHash(v.new_hash)}` }));
  const [from, setFrom] = useState<string | null>(options.length > 1 ? options[options.length - 2]!.value : null);
  const [to, setTo] = useState<string | null>(options.at(-1)?.value ?? null);
  const a = versions.find((v) => String(v.seq) === from);
  const b = versions.find((v) => String(v.seq) === to);
  const between = a && b ? versions.filter((v) => v.seq > Math.min(a.seq, b.seq) && v.seq <= Math.max(a.seq, b.seq)) : [];
  const before = new Set(a?.policies ?? []);
  const after = new Set(b?.policies ?? []);
  return (
    <Card withBorder>
      <Title order={2} size="h3">
        Diff between two versions
      </Title>
      <Group>
        <Select label="from" data={options} value={from} onChange={setFrom} />
        <Select label="to" data={options} value={to} onChange={setTo} />
      </Group>
      {a && b && (
        <Stack gap="xs" mt="sm" data-testid="policy-diff">
          <Text className="mono">
            {shortHash(a.new_hash)} → {shortHash(b.new_hash)}
          </Text>
          {[...after]
            .filter((p) => !before.has(p))
            .map((p) => (
              <Text key={`+${p}`} className="mono">
                + policy {p}
              </Text>
            ))}
          {[...before]
            .filter((p) => !after.has(p))
            .map((p) => (
              <Text key={`-${p}`} className="mono">
                - policy {p}
              </Text>
            ))}
          {between.map((v) => (
            <div key={v.seq}>
              <Text size="sm">
                seq {v.seq}, v{v.version}: changes
              </Text>
              <Pre label={`Changes at seq ${v.seq}`}>{JSON.stringify(v.changes ?? {}, null, 2)}</Pre>
            </div>
          ))}
        </Stack>
      )}
    </Card>
  );
}

export function PolicyPage(_props: PageProps) {
  const policy = useApi<PolicyViewData>('/v1/policy');
  const d = policy.data;
  return (
    <Stack>
      <Title order={1}>Policy</Title>
      <Loading loading={policy.loading} />
      <Failure error={policy.error} />
      {d && (
        <>
          <div className="grid grid-2">
            <Bundle title="In force" b={d.enforced} />
            {d.shadow ? <Bundle title="Shadow" b={d.shadow} /> : <Text>No bundle in shadow mode.</Text>}
          </div>
          <Card withBorder>
            <Title order={2} size="h3">
              History
            </Title>
            <Table data-testid="policy-history">
              <Table.Thead>
                <Table.Tr>
                  {['seq', 'time', 'event', 'version', 'hash', 'author', 'approvers', 'approvals', 'trigger'].map((h) => (
                    <Table.Th key={h}>{h}</Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {d.history.map((h) => (
                  <Table.Tr key={h.seq}>
                    <Table.Td>{h.seq}</Table.Td>
                    <Table.Td>{h.time}</Table.Td>
                    <Table.Td>
                      {h.action.replace('policy_', '')}
                      {h.emergency ? ' (emergency)' : ''}
                    </Table.Td>
                    <Table.Td>{h.version ?? '-'}</Table.Td>
                    <Table.Td className="mono">{shortHash(h.new_hash ?? h.candidate_hash)}</Table.Td>
                    <Table.Td>{h.author ?? '-'}</Table.Td>
                    <Table.Td>{(h.approvers ?? []).join(', ') || '-'}</Table.Td>
                    <Table.Td>{h.approvals ?? h.reason ?? '-'}</Table.Td>
                    <Table.Td>{h.trigger ?? '-'}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Card>
          <Diff history={d.history} />
          <Card withBorder>
            <Title order={2} size="h3">
              Shadow-mode disagreements
            </Title>
            {d.disagreements.length === 0 ? (
              <Text>None recorded.</Text>
            ) : (
              <Table>
                <Table.Thead>
                  <Table.Tr>
                    {['seq', 'time', 'user', 'tool', 'detail'].map((h) => (
                      <Table.Th key={h}>{h}</Table.Th>
                    ))}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {d.disagreements.map((x) => (
                    <Table.Tr key={x.seq}>
                      <Table.Td>{x.seq}</Table.Td>
                      <Table.Td>{x.time}</Table.Td>
                      <Table.Td>{x.user ?? '-'}</Table.Td>
                      <Table.Td>{x.tool ? `${x.tool.server}/${x.tool.name}` : '-'}</Table.Td>
                      <Table.Td className="mono">{JSON.stringify(x.detail ?? {})}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Card>
        </>
      )}
    </Stack>
  );
}
