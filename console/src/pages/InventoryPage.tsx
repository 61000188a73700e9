import { useState } from 'react';
import { Badge, Button, Card, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { api } from '../api';
import { can, Failure, Loading, shortHash, useApi, Pre, RowsTable } from './common';
import type { PageProps } from './common';

interface Tool {
  readonly name: string;
  readonly hash: string;
  readonly status: 'approved' | 'quarantined' | 'changed_alert_only';
  readonly approved?: { hash: string; seq: number; time: string; definition: unknown };
  readonly pending?: { hash: string; definition: unknown };
  readonly diff?: ReadonlyArray<{ field: string; approved: unknown; current: unknown }>;
  readonly calls: number;
}
interface Inventory {
  readonly generated_at: string;
  readonly servers: ReadonlyArray<{
    name: string;
    version: string | null;
    transport: string | null;
    state: string;
    calls: number;
    last_seen: string;
    tools: readonly Tool[];
  }>;
  readonly agents: ReadonlyArray<{
    name: string;
    runtime: string | null;
    version: string | null;
    tiers: readonly string[];
    users: number;
    calls: number;
    last_seen: string;
  }>;
}
interface KillSwitch {
  readonly id: string;
  readonly target: string;
  readonly reason: string;
  readonly set_by: string | null;
  readonly set_at: string;
}

const STATUS_COLORS: Record<Tool['status'], string> = { approved: 'green.9', quarantined: 'red.9', changed_alert_only: 'orange.9' };

function ToolRow({ server, tool, admin, onChange }: { server: string; tool: Tool; admin: boolean; onChange: () => void }) {
  const [error, setError] = useState<Error | undefined>();
  return (
    <>
      <Table.Tr data-testid={`tool-${server}/${tool.name}`}>
        <Table.Td>{tool.name}</Table.Td>
        <Table.Td>
          <Badge color={STATUS_COLORS[tool.status]}>{tool.status.replace(/_/g, ' ')}</Badge>
        </Table.Td>
        <Table.Td className="mono">{shortHash(tool.hash)}</Table.Td>
        <Table.Td>{tool.approved ? `seq ${tool.approved.seq}, ${tool.approved.time}` : '-'}</Table.Td>
        <Table.Td>{tool.calls}</Table.Td>
        <Table.Td>
          {admin && tool.status !== 'approved' && (
            <Button
              size="xs"
              onClick={() => api('/v1/inventory/tools/approve', { method: 'POST', body: { server, tool: tool.name } }).then(onChange, setError)}
            >
              Re-approve {tool.name}
            </Button>
          )}
          <Failure error={error} />
        </Table.Td>
      </Table.Tr>
      {tool.diff && tool.diff.length > 0 && (
        <Table.Tr>
          <Table.Td colSpan={6}>
            <Text size="sm" fw={700}>
              Definition history: approved {shortHash(tool.approved?.hash)} → listed now {shortHash(tool.pending?.hash)}
            </Text>
            {tool.diff.map((d) => (
              <div key={d.field} data-testid="tool-diff">
                <Text size="sm">{d.field}</Text>
                <Pre label={`Definition diff of ${d.field}`}>{`- ${JSON.stringify(d.approved, null, 2)}\n+ ${JSON.stringify(d.current, null, 2)}`}</Pre>
              </div>
            ))}
          </Table.Td>
        </Table.Tr>
      )}
    </>
  );
}

function KillSwitches({ admin }: { admin: boolean }) {
  const kills = useApi<{ kill_switches: KillSwitch[] }>('/v1/admin/kill-switches');
  const [target, setTarget] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const act = (p: Promise<unknown>) => p.then(kills.reload, setError);
  return (
    <Card withBorder>
      <Title order={2} size="h3">
        Kill switches
      </Title>
      <Failure error={kills.error ?? error} />
      <RowsTable headers={['target', 'reason', 'set by', 'at', '']}>
        {kills.data?.kill_switches.map((k) => (
          <Table.Tr key={k.id}>
            <Table.Td className="mono">{k.target}</Table.Td>
            <Table.Td>{k.reason}</Table.Td>
            <Table.Td>{k.set_by ?? '-'}</Table.Td>
            <Table.Td>{k.set_at}</Table.Td>
            <Table.Td>
              {admin && (
                <Button
                  size="xs"
                  variant="outline"
                  onClick={() => act(api('/v1/admin/kill-switches/lift', { method: 'POST', body: { id: k.id, reason: 'lifted from the console' } }))}
                >
                  Lift
                </Button>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </RowsTable>
      {admin && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            act(api('/v1/admin/kill-switches', { method: 'POST', body: { target, reason } }));
          }}
        >
          <Group align="end" mt="sm">
            <TextInput
              label="target (agent:NAME, tool:SERVER/NAME, upstream:SERVER, user:SUB)"
              value={target}
              onChange={(e) => setTarget(e.currentTarget.value)}
            />
            <TextInput label="reason" value={reason} onChange={(e) => setReason(e.currentTarget.value)} />
            <Button type="submit" color="red.9" disabled={!target || !reason}>
              Set kill switch
            </Button>
          </Group>
        </form>
      )}
    </Card>
  );
}

export function InventoryPage({ me }: PageProps) {
  const inv = useApi<Inventory>('/v1/inventory');
  const admin = can(me, 'admin');
  return (
    <Stack>
      <Title order={1}>Inventory</Title>
      <Loading loading={inv.loading} />
      <Failure error={inv.error} />
      {inv.data?.servers.map((s) => (
        <Card withBorder key={s.name}>
          <Group>
            <Title order={2} size="h3">
              MCP server {s.name}
            </Title>
            <Badge color="gray.8">{s.state}</Badge>
            <Text size="sm">
              {s.transport ?? ''} {s.version ?? ''} · {s.calls} calls
            </Text>
          </Group>
          <RowsTable headers={['tool', 'status', 'hash', 'approved', 'calls', 'action']}>
            {s.tools.map((t) => (
              <ToolRow key={t.name} server={s.name} tool={t} admin={admin} onChange={inv.reload} />
            ))}
          </RowsTable>
        </Card>
      ))}
      {inv.data && (
        <Card withBorder>
          <Title order={2} size="h3">
            Agent runtimes
          </Title>
          <RowsTable headers={['agent', 'runtime', 'version', 'tiers', 'users', 'calls', 'last seen']}>
            {inv.data.agents.map((a) => (
              <Table.Tr key={a.name}>
                <Table.Td>{a.name}</Table.Td>
                <Table.Td>{a.runtime ?? '-'}</Table.Td>
                <Table.Td>{a.version ?? '-'}</Table.Td>
                <Table.Td>{a.tiers.join(', ')}</Table.Td>
                <Table.Td>{a.users}</Table.Td>
                <Table.Td>{a.calls}</Table.Td>
                <Table.Td>{a.last_seen}</Table.Td>
              </Table.Tr>
            ))}
          </RowsTable>
        </Card>
      )}
      <KillSwitches admin={admin} />
    </Stack>
  );
}
