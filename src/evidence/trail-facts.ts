/**
 * One pass over the trail in the pack's window: counts for the charts, sample rows per control,
 * field coverage for the checklist, the bundle hashes in force and the policy, retention and
 * break-glass events. Alerts and acknowledgements are the monitor's own fold (`foldRow`).
 */
import { PURGE_ACTION, HOLD_PLACED, HOLD_RELEASED, isPurgedRow } from '../audit/index.js';
import type { Tombstone } from '../audit/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { createTrailState, foldRow } from '../monitor/index.js';
import type { AlertView } from '../monitor/index.js';
import { CONTROLS } from './controls.js';

const SAMPLES_PER_CONTROL = 5;
const CALL_EVENTS = new Set(['intent', 'result', 'deny', 'confirm']);
const POLICY_ACTIONS = new Set(['policy_activated', 'policy_refused', 'policy_rollback_authorized']);

export interface TrailWindow {
  /** Inclusive, ms since the epoch. */
  readonly from?: number;
  /** Exclusive. */
  readonly to?: number;
}

export interface TrailFacts {
  readonly rows: number;
  readonly purged: number;
  /** Rows of live control tests (`control_test: true`): in the chain, left out of every count and sample. */
  readonly controlTestRows: number;
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  readonly byEvent: Record<string, number>;
  /** Call rows (intent, result, deny, confirm). */
  readonly calls: number;
  /** Call rows missing one of user.sub, agent.name, agent.tier, tool, policy.decision, policy.bundle_hash. */
  readonly incomplete: number;
  /** Allowed calls (intent rows) without a result row of the same request_id in the window. */
  readonly unmatchedIntents: number;
  readonly byTier: Record<string, number>;
  /** Decisions (intent = allow, deny, confirm) per time bucket, with the tier. */
  readonly timeline: {
    readonly bucketMs: number;
    readonly buckets: ReadonlyArray<{ start: string; allow: number; deny: number; confirm: number; tiers: Record<string, number> }>;
  };
  readonly tools: ReadonlyArray<{ tool: string; calls: number; denied: number }>;
  readonly redactions: Record<string, number>;
  readonly denyReasons: Record<string, number>;
  readonly bundles: ReadonlyArray<{ hash: string; firstSeq: number; firstTime: string; rows: number }>;
  readonly policyEvents: ReadonlyArray<{ seq: number; time: string; by: string | null } & Record<string, unknown>>;
  readonly retentionEvents: ReadonlyArray<{ seq: number; time: string; by: string | null; action: string } & Record<string, unknown>>;
  readonly emergency: { readonly grants: number; readonly callsUnderGrant: number; readonly reviewsClosed: number };
  readonly checkpoints: ReadonlyArray<{ seq: number; time: string; tree_size: number; root_hash: string; key_id: string }>;
  readonly alerts: readonly AlertView[];
  readonly delegatedCalls: number;
  readonly samples: Record<string, AuditRecord[]>;
}

/** Which rows show each control (the playbook's "audit rows showing …"). */
const SAMPLE_OF: Record<string, (r: AuditRecord) => boolean> = {
  'CC6.1': (r) => CALL_EVENTS.has(r.event) && !!r.user.sub && !!r.agent?.tier && !!r.policy.decision,
  'CC6.6': (r) => r.redactions.count > 0,
  'CC7.1': (r) => CALL_EVENTS.has(r.event) && r.policy.bundle_hash !== 'none',
  'CC7.2': (r) => r.event === 'result' && !!r.user.sub && !!r.agent && !!r.tool && !!r.input,
  'CC8.1': (r) => r.event === 'admin' && POLICY_ACTIONS.has(String(r.detail?.action)),
  '164.312(a)(1)': (r) => CALL_EVENTS.has(r.event) && !!r.user.sub && !!r.data_classes?.includes('phi'),
  '164.312(b)': (r) => (r.event === 'intent' || r.event === 'result') && !!r.data_classes?.includes('phi'),
  '164.312(c)(1)': (r) => r.event === 'deny' && r.policy.reasons.includes('write_requires_interactive_tier'),
  '164.312(d)': (r) => CALL_EVENTS.has(r.event) && !!r.user.sub && (r.agent?.delegation_chain.length ?? 0) >= 2,
  '164.312(e)(1)': (r) => r.egress !== undefined || r.policy.reasons.some((x) => x.startsWith('egress_')),
};

const inc = (m: Record<string, number>, k: string, by = 1): void => {
  m[k] = (m[k] ?? 0) + by;
};

function complete(r: AuditRecord): boolean {
  return !!r.user.sub && !!r.agent?.name && !!r.agent.tier && !!r.tool && !!r.policy.decision && !!r.policy.bundle_hash;
}

/** The bucket width for a window: an hour up to three days, a day up to 120 days, else a week. */
function bucketWidth(spanMs: number): number {
  const hour = 3_600_000;
  if (spanMs <= 72 * hour) return hour;
  return spanMs <= 120 * 24 * hour ? 24 * hour : 7 * 24 * hour;
}

/** Folds `rows` (seq order, the whole trail: the monitor's alert state needs the acknowledgements after an alert) into the facts of the window. */
export async function collectTrailFacts(rows: AsyncIterable<AuditRecord | Tombstone>, window: TrailWindow): Promise<TrailFacts> {
  const monitor = createTrailState();
  const byEvent: Record<string, number> = {};
  const byTier: Record<string, number> = {};
  const redactions: Record<string, number> = {};
  const denyReasons: Record<string, number> = {};
  const tools = new Map<string, { calls: number; denied: number }>();
  const decisions: Array<[number, string, string]> = [];
  const bundles = new Map<string, { hash: string; firstSeq: number; firstTime: string; rows: number }>();
  const samples: Record<string, AuditRecord[]> = Object.fromEntries(CONTROLS.map((c) => [c.id, []]));
  const openIntents = new Set<string>();
  const policyEvents: TrailFacts['policyEvents'][number][] = [];
  const retentionEvents: TrailFacts['retentionEvents'][number][] = [];
  const checkpoints: TrailFacts['checkpoints'][number][] = [];
  const emergency = { grants: 0, callsUnderGrant: 0, reviewsClosed: 0 };
  let n = 0;
  let purged = 0;
  let controlTestRows = 0;
  let calls = 0;
  let incomplete = 0;
  let delegatedCalls = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  for await (const row of rows) {
    if (isPurgedRow(row)) {
      purged++;
      continue;
    }
    const r = row;
    if (r.control_test) {
      controlTestRows++; // evidence of the live tests, never counted as traffic
      continue;
    }
    foldRow(monitor, r);
    const t = Date.parse(r.time);
    if ((window.from !== undefined && t < window.from) || (window.to !== undefined && t >= window.to)) continue;
    n++;
    firstSeq ??= r.seq;
    lastSeq = r.seq;
    inc(byEvent, r.event);
    const action = String(r.detail?.action ?? '');
    if (r.event === 'checkpoint' && r.checkpoint) {
      const { tree_size, root_hash, key_id } = r.checkpoint;
      checkpoints.push({ seq: r.seq, time: r.time, tree_size, root_hash, key_id });
    }
    if (r.event === 'admin' && POLICY_ACTIONS.has(action)) policyEvents.push({ seq: r.seq, time: r.time, by: r.user.sub, ...r.detail });
    if (r.event === 'admin' && (action === PURGE_ACTION || action === HOLD_PLACED || action === HOLD_RELEASED))
      retentionEvents.push({ seq: r.seq, time: r.time, by: r.user.sub, ...r.detail, action });
    if (action === 'emergency_grant_opened') emergency.grants++;
    if (action === 'emergency_review_closed') emergency.reviewsClosed++;
    for (const [id, matches] of Object.entries(SAMPLE_OF)) {
      const kept = samples[id]!;
      if (matches(r)) {
        if (kept.length >= SAMPLES_PER_CONTROL) kept.shift();
        kept.push(r);
      }
    }
    if (!CALL_EVENTS.has(r.event)) continue;
    calls++;
    if (!complete(r)) incomplete++;
    if (r.access?.emergency) emergency.callsUnderGrant++;
    if ((r.agent?.delegation_chain.filter((hop) => hop.startsWith('agent:')).length ?? 0) > 1) delegatedCalls++;
    if (r.agent) inc(byTier, r.agent.tier);
    for (const type of r.redactions.types) inc(redactions, type);
    let b = bundles.get(r.policy.bundle_hash);
    if (!b) bundles.set(r.policy.bundle_hash, (b = { hash: r.policy.bundle_hash, firstSeq: r.seq, firstTime: r.time, rows: 0 }));
    b.rows++;
    if (r.event === 'intent') openIntents.add(r.request_id);
    if (r.event === 'result') openIntents.delete(r.request_id);
    if (r.event === 'result') continue;
    const decision = r.event === 'intent' ? 'allow' : r.event;
    decisions.push([t, decision, r.agent?.tier ?? 'none']);
    if (r.tool) {
      const key = `${r.tool.server}/${r.tool.name}`;
      const tool = tools.get(key) ?? { calls: 0, denied: 0 };
      tool.calls++;
      if (decision === 'deny') tool.denied++;
      tools.set(key, tool);
    }
    if (decision === 'deny') for (const reason of r.policy.reasons) inc(denyReasons, reason);
  }
  return {
    rows: n,
    purged,
    controlTestRows,
    ...(firstSeq === undefined ? {} : { firstSeq, lastSeq }),
    byEvent,
    calls,
    incomplete,
    unmatchedIntents: openIntents.size,
    byTier,
    timeline: timelineOf(decisions, window),
    tools: [...tools].map(([tool, v]) => ({ tool, ...v })).sort((a, b) => b.calls - a.calls),
    redactions,
    denyReasons,
    bundles: [...bundles.values()],
    policyEvents,
    retentionEvents,
    emergency,
    checkpoints,
    alerts: monitor.alerts.filter(
      (a) => (window.from === undefined || Date.parse(a.time) >= window.from) && (window.to === undefined || Date.parse(a.time) < window.to),
    ),
    delegatedCalls,
    samples,
  };
}

function timelineOf(decisions: ReadonlyArray<[number, string, string]>, window: TrailWindow): TrailFacts['timeline'] {
  if (decisions.length === 0) return { bucketMs: 3_600_000, buckets: [] };
  const from = window.from ?? decisions[0]![0];
  const to = window.to ?? decisions[decisions.length - 1]![0] + 1;
  const width = bucketWidth(Math.max(1, to - from));
  const start = Math.floor(from / width) * width;
  const buckets = new Map<number, { start: string; allow: number; deny: number; confirm: number; tiers: Record<string, number> }>();
  for (const [t, decision, tier] of decisions) {
    const k = start + Math.floor((t - start) / width) * width;
    let b = buckets.get(k);
    if (!b) buckets.set(k, (b = { start: new Date(k).toISOString(), allow: 0, deny: 0, confirm: 0, tiers: {} }));
    b[decision as 'allow' | 'deny' | 'confirm']++;
    inc(b.tiers, tier);
  }
  return { bucketMs: width, buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b) };
}
