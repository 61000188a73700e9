import { useEffect, useState } from 'react';
import { Card, Group, Stack, Table, Text, Title } from '@mantine/core';
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Failure, useApi } from './common';
import type { PageProps } from './common';

interface Named {
  readonly name: string;
  readonly value: number;
}
interface Live {
  readonly since: string;
  readonly decisions: ReadonlyArray<{ minute: string; allow: number; deny: number; confirm: number }>;
  readonly by_tier: readonly Named[];
  readonly deny_rate: ReadonlyArray<{ name: string; calls: number; denies: number; rate: number }>;
  readonly redactions: readonly Named[];
  readonly alerts: readonly Named[];
  readonly users: readonly Named[];
  readonly agents: readonly Named[];
}

/** How often the open page asks again. */
const REFRESH_MS = 5000;

function BarCard({ title, data, dataKey = 'value', color }: { title: string; data: readonly object[]; dataKey?: string; color: string }) {
  return (
    <Card withBorder>
      <Title order={2} size="h4">
        {title}
      </Title>
      {data.length === 0 ? (
        <Text size="sm">Nothing in this window.</Text>
      ) : (
        <div className="chart" role="img" aria-label={title}>
          <ResponsiveContainer>
            <BarChart data={[...data]} layout="vertical" margin={{ left: 24 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis type="number" allowDecimals={dataKey !== 'rate'} />
              <YAxis type="category" dataKey="name" width={160} />
              <Tooltip />
              <Bar dataKey={dataKey} fill={color} isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      )}
    </Card>
  );
}

function TopTable({ title, rows }: { title: string; rows: readonly Named[] }) {
  return (
    <Card withBorder>
      <Title order={2} size="h4">
        {title}
      </Title>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>name</Table.Th>
            <Table.Th>calls</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((r) => (
            <Table.Tr key={r.name}>
              <Table.Td>{r.name}</Table.Td>
              <Table.Td>{r.value}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

export function LivePage(_props: PageProps) {
  const live = useApi<Live>('/v1/live?minutes=60');
  const [updated, setUpdated] = useState<string>('');
  const { reload } = live;
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  useEffect(() => {
    if (live.data) setUpdated(new Date().toLocaleTimeString());
  }, [live.data]);
  const d = live.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>Live view</Title>
        <Text size="sm" data-testid="live-updated" aria-live="polite">
          {updated ? `last hour, updated ${updated}` : ''}
        </Text>
      </Group>
      <Failure error={live.error} />
      {d && (
        <>
          <Card withBorder>
            <Title order={2} size="h4">
              Decisions per minute
            </Title>
            <div className="chart" role="img" aria-label="Decisions per minute by outcome" data-testid="decisions-chart">
              <ResponsiveContainer>
                <AreaChart data={[...d.decisions]}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="minute" tickFormatter={(m: string) => m.slice(11, 16)} />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  <Area type="monotone" dataKey="allow" stackId="1" stroke="#2b8a3e" fill="#2b8a3e" isAnimationActive={false} />
                  <Area type="monotone" dataKey="deny" stackId="1" stroke="#c92a2a" fill="#c92a2a" isAnimationActive={false} />
                  <Area type="monotone" dataKey="confirm" stackId="1" stroke="#e67700" fill="#e67700" isAnimationActive={false} />
                </AreaChart>
              </ResponsiveContainer>
            </div>
          </Card>
          <div className="grid grid-2">
            <BarCard title="Decisions by tier" data={d.by_tier} color="#364fc7" />
            <BarCard title="Deny rate by tool" data={d.deny_rate} dataKey="rate" color="#c92a2a" />
            <BarCard title="Redactions by type" data={d.redactions} color="#5f3dc4" />
            <BarCard title="Alerts by rule" data={d.alerts} color="#d9480f" />
            <TopTable title="Top users" rows={d.users} />
            <TopTable title="Top agents" rows={d.agents} />
          </div>
        </>
      )}
    </Stack>
  );
}
