/**
 * One builder per audit event: intent, deny, confirm, result, auth_failure, alert, admin, checkpoint,
 * and the intent and result rows of a call recorded offline (audited fail-open).
 * Every row Custos writes is built here (from the pipeline, identity and the app), so every
 * row names its user, agent, tool and bundle the same way. Pure: the row writer
 * (audit-writer.ts) redacts `detail` and appends.
 */
import type { AuditEntry, CallKind, Decision, DecisionValue, Principal, ToolCall } from './types.js';
import type { OfflineEntry } from './offline-journal.js';
import { AUDIT_SCHEMA } from './types.js';

/** What every row carries: when, which governed action, which bundle. */
export interface RowStamp {
  readonly time: string;
  readonly requestId: string;
  readonly bundleHash: string;
}

/** Who and what a row is about. */
export interface RowSubject {
  readonly user: AuditEntry['user'];
  readonly kind?: CallKind;
  readonly agent?: AuditEntry['agent'];
  readonly tool?: AuditEntry['tool'];
  readonly traceId?: string;
  readonly access?: AuditEntry['access'];
}

/** The fields of a decision row (intent, deny, confirm). */
export interface DecisionRowFields {
  readonly decision: Pick<Decision, 'reasons' | 'determiningPolicies' | 'emergencyChange'>;
  readonly dataClasses?: readonly string[];
  readonly input?: AuditEntry['input'];
  readonly redactions?: AuditEntry['redactions'];
  readonly confirmation?: AuditEntry['confirmation'];
  readonly egress?: AuditEntry['egress'];
  readonly detail?: AuditEntry['detail'];
}

export interface ResultRowFields {
  readonly decision: Pick<Decision, 'decision' | 'reasons' | 'determiningPolicies' | 'emergencyChange'>;
  readonly dataClasses: readonly string[];
  readonly output: NonNullable<AuditEntry['output']>;
  readonly redactions: AuditEntry['redactions'];
  readonly egress?: AuditEntry['egress'];
  readonly detail?: AuditEntry['detail'];
}

export interface AlertRowFields {
  readonly type: string;
  readonly severity: 'low' | 'medium' | 'high';
  readonly decision: DecisionValue;
  readonly detail?: AuditEntry['detail'];
}

export interface AdminRowFields {
  readonly action: string;
  /** Default `[action]`. */
  readonly reasons?: readonly string[];
  readonly decision: DecisionValue;
  readonly detail?: AuditEntry['detail'];
}

export interface AuthFailureRowFields {
  readonly reasons: readonly string[];
  readonly kind?: CallKind;
  readonly tool?: { readonly server: string; readonly name: string };
  readonly traceId?: string;
  readonly detail?: AuditEntry['detail'];
}

const NO_REDACTIONS: AuditEntry['redactions'] = Object.freeze({ count: 0, types: Object.freeze([]) as readonly string[] });

/*
 * The objects built here list their members in RFC 8785 order (sorted by UTF-16 code units): the
 * rows of a call (intent, deny, confirm, result) whole, the others up to the members they add
 * last. The canonicaliser (`sortedKeys`) then finds them sorted with one linear check instead of
 * sorting each object's keys. The order changes nothing in the text (canonicalisation sorts
 * whatever it gets); an object out of order only costs that sort (audit-rows.test.ts holds it).
 */

/** The `user` of a row: the verified principal, or the explicit anonymous marker. */
export function userOf(p: Principal | null | undefined): AuditEntry['user'] {
  return p ? { email: p.email, iss: p.iss, session_id: p.sessionId, sub: p.sub, tenant: p.tenant } : { anonymous: true, sub: null };
}

/** The row subject of a governed action; `toolClasses` when the catalog classified the tool. */
export function subjectOfCall(call: ToolCall, toolClasses?: readonly string[]): RowSubject {
  return {
    user: userOf(call.principal),
    kind: call.kind,
    agent: {
      declared_tier: call.agent.declaredTier,
      delegation_chain: [...call.agent.delegationChain, `tool:${call.tool.server}/${call.tool.name}`],
      name: call.agent.name,
      runtime: call.agent.runtime,
      sdk: call.agent.sdk,
      tier: call.agent.tier,
      user_agent: call.agent.userAgent,
      version: call.agent.version,
    },
    tool: toolClasses ? { classes: toolClasses, name: call.tool.name, server: call.tool.server } : { name: call.tool.name, server: call.tool.server },
    traceId: call.traceId,
    access: call.emergency ? { emergency: true, grant_id: call.emergency.grantId } : undefined,
  };
}

function baseRow(
  event: AuditEntry['event'],
  stamp: RowStamp,
  subject: RowSubject,
  decision: DecisionValue,
  reasons: readonly string[],
  determining: readonly string[] = [],
): AuditEntry {
  return row(event, stamp, subject, policyOf(stamp, decision, reasons, determining), NO_REDACTIONS);
}

/** The row's `policy`, with the emergency-change flag of the bundle that decided when it was one. */
function policyOf(
  stamp: RowStamp,
  decision: DecisionValue,
  reasons: readonly string[],
  determining: readonly string[] = [],
  flags?: Pick<Decision, 'emergencyChange'>,
): AuditEntry['policy'] {
  return flags?.emergencyChange
    ? { bundle_hash: stamp.bundleHash, decision, determining_policies: [...determining], emergency_change: true, reasons: [...reasons] }
    : { bundle_hash: stamp.bundleHash, decision, determining_policies: [...determining], reasons: [...reasons] };
}

/** What a call row adds to the stamp, the subject and the policy. */
interface RowMembers {
  readonly confirmation?: AuditEntry['confirmation'];
  readonly dataClasses?: readonly string[];
  readonly detail?: AuditEntry['detail'];
  readonly egress?: AuditEntry['egress'];
  readonly input?: AuditEntry['input'];
  readonly output?: AuditEntry['output'];
}

/** A row in one object, its members in canonical order (see above); those left undefined are not in its text. */
function row(
  event: AuditEntry['event'],
  stamp: RowStamp,
  subject: RowSubject,
  policy: AuditEntry['policy'],
  redactions: AuditEntry['redactions'],
  m: RowMembers = {},
): AuditEntry {
  return {
    access: subject.access,
    agent: subject.agent,
    confirmation: m.confirmation,
    data_classes: m.dataClasses,
    detail: m.detail,
    egress: m.egress ? m.egress : undefined, // as before: a falsy value is left out, never written
    event,
    input: m.input,
    kind: subject.kind,
    output: m.output,
    policy,
    redactions,
    request_id: stamp.requestId,
    schema: AUDIT_SCHEMA,
    time: stamp.time,
    tool: subject.tool,
    trace_id: subject.traceId,
    user: subject.user,
  };
}

function decisionRow(event: 'intent' | 'deny' | 'confirm', value: DecisionValue, stamp: RowStamp, subject: RowSubject, f: DecisionRowFields): AuditEntry {
  const policy = policyOf(stamp, value, f.decision.reasons, f.decision.determiningPolicies, f.decision);
  return row(event, stamp, subject, policy, f.redactions ?? NO_REDACTIONS, f);
}

/** An allowed call about to be forwarded (durable before it is). */
export function buildIntentRow(stamp: RowStamp, subject: RowSubject, fields: DecisionRowFields): AuditEntry {
  return decisionRow('intent', 'allow', stamp, subject, fields);
}

/** A call (or control-plane request) that was not let through. */
export function buildDenyRow(stamp: RowStamp, subject: RowSubject, fields: DecisionRowFields & { readonly value?: 'deny' | 'confirm' }): AuditEntry {
  return decisionRow('deny', fields.value ?? 'deny', stamp, subject, fields);
}

/** A call the policy held for a human's confirmation. */
export function buildConfirmRow(stamp: RowStamp, subject: RowSubject, fields: DecisionRowFields & { readonly channel?: string }): AuditEntry {
  return decisionRow('confirm', 'confirm', stamp, subject, { ...fields, confirmation: { status: 'requested', channel: fields.channel } });
}

/** The outcome of a forwarded call (same request_id as its intent). */
export function buildResultRow(stamp: RowStamp, subject: RowSubject, f: ResultRowFields): AuditEntry {
  const policy = policyOf(stamp, f.decision.decision, f.decision.reasons, f.decision.determiningPolicies, f.decision);
  return row('result', stamp, subject, policy, f.redactions, f);
}

/** A request whose identity could not be verified: anonymous, the codes as reasons. */
export function buildAuthFailureRow(stamp: RowStamp, f: AuthFailureRowFields): AuditEntry {
  return { ...baseRow('auth_failure', stamp, { user: userOf(null), kind: f.kind, tool: f.tool, traceId: f.traceId }, 'deny', f.reasons), detail: f.detail };
}

/** Something a human should look at; the alert type is the row's reason. */
export function buildAlertRow(stamp: RowStamp, subject: RowSubject, f: AlertRowFields): AuditEntry {
  const tool = subject.tool ? { server: subject.tool.server, name: subject.tool.name } : undefined;
  return { ...baseRow('alert', stamp, { ...subject, tool }, f.decision, [f.type]), alert: { type: f.type, severity: f.severity }, detail: f.detail };
}

/** A control-plane change (bundle activated, token issued, session revoked, break-glass…); `detail.action` names it. */
export function buildAdminRow(stamp: RowStamp, subject: RowSubject, f: AdminRowFields): AuditEntry {
  return { ...baseRow('admin', stamp, subject, f.decision, f.reasons ?? [f.action]), detail: { action: f.action, ...f.detail } };
}

/** The user of rows Custos writes for itself (bundle activation at start, checkpoints). */
export const SYSTEM_USER = Object.freeze({ sub: 'custos:system', iss: 'custos' });

/** A signed tree head over the rows before it; written by Custos itself, never redacted (it holds only hashes). */
export function buildCheckpointRow(stamp: RowStamp, checkpoint: NonNullable<AuditEntry['checkpoint']>): AuditEntry {
  return { ...baseRow('checkpoint', stamp, { user: { ...SYSTEM_USER } }, 'allow', ['checkpoint']), checkpoint: { ...checkpoint } };
}

/**
 * A journal entry of an audited fail-open call, delivered after the outage: an `intent` or
 * `result` row marked `offline`, with the outage window; only hashes of the payload, the
 * bundle the SDK's signed metadata named, reason `recorded_offline`.
 */
export function buildOfflineRow(stamp: RowStamp, subject: RowSubject, entry: OfflineEntry): AuditEntry {
  const offline = {
    recorded_offline: true as const,
    occurred_at: entry.occurredAt,
    outage: { ...entry.outage },
    journal: { key_thumbprint: entry.journal.keyThumbprint, seq: entry.journal.seq, entry_hash: entry.journal.entryHash },
  };
  const row = { ...baseRow(entry.phase, stamp, subject, 'allow', ['recorded_offline']), offline };
  return entry.phase === 'intent'
    ? { ...row, input: { redacted: null, sha256: entry.sha256 } }
    : { ...row, output: { redacted: null, sha256: entry.sha256, ...(entry.error ? { error: 'tool_error' } : {}) } };
}
