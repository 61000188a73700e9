import { useEffect } from 'react';
import { Card, Stack, Table, Text, Title } from '@mantine/core';
import { can, DecisionBadge, Failure, Loading, NoteForm, shortHash, useApi, RowsTable } from './common';
import type { PageProps } from './common';
import type { AuditRow } from './AuditPage';
import type { PolicyViewData } from './PolicyPage';

interface Review {
  readonly grant_id: string;
  readonly holder: string;
  readonly opened_at: string;
  readonly expires_at: string;
}

function CloseForm({ review, onDone }: { review: Review; onDone: () => void }) {
  return (
    <NoteForm
      path="/v1/emergency/reviews/close"
      body={(note) => ({ grant_id: review.grant_id, note })}
      label={`Review note for ${review.grant_id}`}
      submit="Close review"
      onDone={onDone}
    />
  );
}

interface PendingConfirmation {
  readonly request_id: string;
  readonly channel: string;
  readonly user: string | null;
  readonly agent: string;
  readonly tool: string;
  readonly since: string;
  readonly expires_at: string;
}
const PENDING_REFRESH_MS = 3000;

/** Confirmations waiting for a human right now (this replica's memory), refreshed while the page is open. */
function PendingNow() {
  const pending = useApi<{ pending: PendingConfirmation[] }>('/v1/confirmations/pending');
  const { reload } = pending;
  useEffect(() => {
    const timer = setInterval(reload, PENDING_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <Card withBorder>
      <Title order={2} size="h3">
        Confirmations pending now (this replica)
      </Title>
      <Failure error={pending.error} />
      {pending.data && pending.data.pending.length === 0 && <Text data-testid="pending-none">None pending.</Text>}
      {pending.data && pending.data.pending.length > 0 && (
        <RowsTable headers={['request', 'channel', 'user', 'agent', 'tool', 'since', 'expires']} data-testid="pending-confirmations">
          {pending.data.pending.map((p) => (
            <Table.Tr key={`${p.channel}:${p.request_id}`}>
              <Table.Td className="mono">{p.request_id}</Table.Td>
              <Table.Td>{p.channel}</Table.Td>
              <Table.Td>{p.user ?? '-'}</Table.Td>
              <Table.Td>{p.agent}</Table.Td>
              <Table.Td>{p.tool}</Table.Td>
              <Table.Td>{p.since}</Table.Td>
              <Table.Td>{p.expires_at}</Table.Td>
            </Table.Tr>
          ))}
        </RowsTable>
      )}
    </Card>
  );
}

export function ReviewsPage({ me }: PageProps) {
  const reviews = useApi<{ reviews: Review[] }>('/v1/emergency/reviews');
  const policy = useApi<PolicyViewData>('/v1/policy');
  const confirms = useApi<{ records: AuditRow[] }>('/v1/audit?decision=confirm&limit=50');
  const emergencyChanges = (policy.data?.history ?? []).filter((h) => h.action === 'policy_activated' && h.emergency);
  return (
    <Stack>
      <Title order={1}>Reviews</Title>
      <Card withBorder>
        <Title order={2} size="h3">
          Break-glass grants awaiting review
        </Title>
        <Loading loading={reviews.loading} />
        <Failure error={reviews.error} />
        {reviews.data && reviews.data.reviews.length === 0 && <Text>No open reviews.</Text>}
        {reviews.data?.reviews.map((r) => (
          <Card key={r.grant_id} withBorder mt="xs" data-testid="review">
            <Text>
              Grant <span className="mono">{r.grant_id}</span> held by {r.holder}, opened {r.opened_at}, expires {r.expires_at}
            </Text>
            {can(me, 'admin') && r.holder !== me.sub && <CloseForm review={r} onDone={reviews.reload} />}
          </Card>
        ))}
      </Card>
      <Card withBorder>
        <Title order={2} size="h3">
          Emergency policy changes
        </Title>
        <Failure error={policy.error} />
        {emergencyChanges.length === 0 ? (
          <Text>None.</Text>
        ) : (
          emergencyChanges.map((h) => (
            <Text key={h.seq}>
              seq {h.seq}: {h.name} v{h.version} <span className="mono">{shortHash(h.new_hash)}</span> by {h.author ?? '?'} at {h.time}: closed by the next
              bundle activated with full approvals
            </Text>
          ))
        )}
      </Card>
      <PendingNow />
      <Card withBorder>
        <Title order={2} size="h3">
          Confirmations requested
        </Title>
        <Failure error={confirms.error} />
        <RowsTable headers={['seq', 'time', 'user', 'tool', 'decision', 'status']}>
          {confirms.data?.records.map((r) => (
            <Table.Tr key={r.seq}>
              <Table.Td>{r.seq}</Table.Td>
              <Table.Td>{r.time}</Table.Td>
              <Table.Td>{r.user.email ?? r.user.sub}</Table.Td>
              <Table.Td>{r.tool ? `${r.tool.server}/${r.tool.name}` : '-'}</Table.Td>
              <Table.Td>
                <DecisionBadge decision={r.policy.decision} />
              </Table.Td>
              <Table.Td>{(r as AuditRow & { confirmation?: { status: string } }).confirmation?.status ?? '-'}</Table.Td>
            </Table.Tr>
          ))}
        </RowsTable>
      </Card>
    </Stack>
  );
}
