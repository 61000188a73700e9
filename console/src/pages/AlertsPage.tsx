import { useState } from 'react';
import { Badge, Card, Group, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { can, Failure, Loading, NoteForm, Pre, SEVERITY_COLORS, useApi } from './common';
import type { PageProps } from './common';

interface AlertView {
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly severity: string;
  readonly user: string | null;
  readonly agent?: string;
  readonly tool?: string;
  readonly detail?: Record<string, unknown>;
  readonly acknowledged?: { by: string | null; at: string; note: string; seq: number };
}

function AckForm({ alert, onDone }: { alert: AlertView; onDone: () => void }) {
  return (
    <NoteForm
      path="/v1/alerts/ack"
      body={(note) => ({ seq: alert.seq, note })}
      label={`Note for alert ${alert.seq}`}
      submit="Acknowledge and close"
      onDone={onDone}
    />
  );
}

export function AlertsPage({ me }: PageProps) {
  const [all, setAll] = useState(false);
  const alerts = useApi<{ alerts: AlertView[] }>(`/v1/alerts${all ? '?all=1' : ''}`);
  const mayAct = can(me, 'security', 'admin');
  return (
    <Stack>
      <Title order={1}>Alerts</Title>
      <Switch label="Show acknowledged alerts too" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} />
      <Loading loading={alerts.loading} />
      <Failure error={alerts.error} />
      {alerts.data && alerts.data.alerts.length === 0 && <Text>No open alerts.</Text>}
      {alerts.data?.alerts.map((a) => (
        <Card withBorder key={a.seq} data-testid="alert">
          <Group justify="space-between">
            <Group gap="xs">
              <Badge color={SEVERITY_COLORS[a.severity] ?? 'gray.8'}>{a.severity}</Badge>
              <Text fw={700}>{a.type}</Text>
              <Text size="sm">seq {a.seq}</Text>
            </Group>
            <Text size="sm">{a.time}</Text>
          </Group>
          <Table mt="xs">
            <Table.Tbody>
              <Table.Tr>
                <Table.Th>user</Table.Th>
                <Table.Td>{a.user ?? '-'}</Table.Td>
                <Table.Th>agent</Table.Th>
                <Table.Td>{a.agent ?? '-'}</Table.Td>
                <Table.Th>tool</Table.Th>
                <Table.Td>{a.tool ?? '-'}</Table.Td>
              </Table.Tr>
            </Table.Tbody>
          </Table>
          <Text size="sm" fw={700} mt="xs">
            Evidence
          </Text>
          <Pre label={`Evidence of alert ${a.seq}`}>{JSON.stringify(a.detail ?? {}, null, 2)}</Pre>
          <Text size="sm">
            <a href={`#/audit`}>Search the trail</a> for the rows around seq {a.seq}.
          </Text>
          {a.acknowledged ? (
            <Text size="sm" data-testid="acknowledged">
              Acknowledged by {a.acknowledged.by ?? '?'} at {a.acknowledged.at}: {a.acknowledged.note}
            </Text>
          ) : (
            mayAct && <AckForm alert={a} onDone={alerts.reload} />
          )}
        </Card>
      ))}
    </Stack>
  );
}
