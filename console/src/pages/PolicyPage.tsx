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

interface VersionView {
  readonly hash: string;
  readonly name: string | null;
  readonly version: number | null;
  readonly mode: string | null;
  readonly archived_at: string;
}
interface DiffView {
  readonly files: ReadonlyArray<{ path: string; status: string; diff: string }>;
}

/** The text diff, file by file, between any two activated versions (kept by hash under policy.stateDir). */
function Diff() {
  const versions = useApi<{ versions: readonly VersionView[] }>('/v1/policy/versions');
  const list = versions.data?.versions ?? [];
  const options = list.map((v) => ({ value: v.hash, label: `${v.name ?? '?'} v${v.version ?? '?'} ${v.mode ?? ''} ${shortHash(v.hash)}` }));
  const [picked, setPicked] = useState<{ from?: string | null; to?: string | null }>({});
  const from = picked.from !== undefined ? picked.from : (list[1]?.hash ?? null);
  const to = picked.to !== undefined ? picked.to : (list[0]?.hash ?? null);
  const diff = useApi<DiffView>(from && to && from !== to ? `/v1/policy/diff?from=${from}&to=${to}` : undefined);
  return (
    <Card withBorder>
      <Title order={2} size="h3">
        Diff between two versions
      </Title>
      <Failure error={versions.error ?? diff.error} />
      <Group>
        <Select label="from" data={options} value={from} onChange={(v) => setPicked((p) => ({ ...p, from: v }))} />
        <Select label="to" data={options} value={to} onChange={(v) => setPicked((p) => ({ ...p, to: v }))} />
      </Group>
      <Loading loading={diff.loading} />
      {from && to && from === to && <Text mt="sm">The same version: nothing differs.</Text>}
      {diff.data && from !== to && (
        <Stack gap="xs" mt="sm" data-testid="policy-diff">
          {diff.data.files.length === 0 && <Text>No file differs.</Text>}
          {diff.data.files.map((f) => (
            <div key={f.path}>
              <Text size="sm">
                {f.path} ({f.status})
              </Text>
              <Pre label={`Diff of ${f.path}`}>{f.diff}</Pre>
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
          <Diff />
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
