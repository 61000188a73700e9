/**
 * The one orchestrator. Every governed action, from either front door, runs these named
 * stages in this order (PIPELINE_STAGES):
 *   bound → classify → identity → tier → limits → door → break_glass → policy → classified
 *   → tenancy → scopes → redact_model → egress → decide → rate_limit → shadow → redact_input (DECISION_STAGES, pipeline-stages.ts)
 *   → record_decision → confirm → before_state (stage-before-state.ts) → forward → redact_output → record_result → monitor
 * Authentication happens before (the front door turns a credential into a Principal or null).
 * `evaluate` runs the decision stages alone, writing nothing, so a list shows what a call
 * would be allowed. Fail closed: no principal, no evaluable policy or no durable intent row
 * means no forwarding. Every row is built by audit-rows.ts and written by audit-writer.ts.
 *
 * One overlap (`run`): an allowed call the catalog classes read-only (read-only.ts), whose
 * forward sends nothing to the agent before it returns (`quiet`), is forwarded while its
 * intent row is being made durable. Its outcome is held until the row is on disk; if the row
 * cannot be written, the outcome is dropped and the call denied (`ERR_AUDIT_UNAVAILABLE`), so
 * nothing reaches the agent before its intent row is durable.
 */
import { CustosError, toCustosError } from './errors.js';
import { digestJson } from './digest.js';
import {
  buildAdminRow,
  buildAlertRow,
  buildAuthFailureRow,
  buildConfirmRow,
  buildDenyRow,
  buildIntentRow,
  buildOfflineRow,
  buildResultRow,
  subjectOfCall,
  SYSTEM_USER,
  userOf,
} from './audit-rows.js';
import type { RowStamp, RowSubject } from './audit-rows.js';
import { createAuditWriter } from './audit-writer.js';
import type { AuditMonitor } from './audit-writer.js';
import { DENY_REASONS } from './deny-reasons.js';
import type { DenyReason } from './deny-reasons.js';
import type { EmergencyPort } from './identity-ports.js';
import { DEFAULT_INPUT_LIMITS, OUTPUT_TOO_COMPLEX, findLimitExceeded } from './limits.js';
import type { InputLimits, LimitExceeded } from './limits.js';
import type { VerifiedJournal } from './offline-journal.js';
import { ACTION_BY_KIND, DECISION_STAGES, NOTHING_FOUND, WITHHELD, exceededOf, runDecisionStages } from './pipeline-stages.js';
import type { Draft, RaisedAlert, StageEnv } from './pipeline-stages.js';
import { egressOf } from './egress.js';
import type { EgressFinding, EgressGuard } from './egress.js';
import type { PseudonymVault } from './egress-stage.js';
import type {
  ActivePolicy,
  AuditStore,
  CallGuard,
  CallObservation,
  Clock,
  DecisionInput,
  IdSource,
  PipelineObserver,
  PolicyAction,
  PolicySource,
  Protector,
  RateCounter,
} from './ports.js';
import { NO_BUNDLE_HASH } from './types.js';
import type { AuditRecord, CallKind, ConfirmationOutcome, Decision, DecisionValue, Principal, Redaction, Tier, ToolCall } from './types.js';
import { redactionScope, redactionsOf } from './redaction-scope.js';
import { isReadOnlyCall } from './read-only.js';
import { beforeSourceOf, readBeforeState } from './stage-before-state.js';
import type { BeforeStateReader } from './stage-before-state.js';

export { WITHHELD, DECISION_STAGES };

export interface PipelineDeps {
  readonly policy: PolicySource;
  readonly protector: Protector;
  readonly audit: AuditStore;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** Bounds on arguments and outputs (default DEFAULT_INPUT_LIMITS). */
  readonly limits?: InputLimits;
  /** Break-glass: the open grant of the caller's session, looked up by the break_glass stage. */
  readonly emergency?: Pick<EmergencyPort, 'activeGrant'>;
  /** The monitor stage: sees every row once the store has it (durable; a result row: written). */
  readonly monitor?: AuditMonitor;
  /** The egress stage's destination check (src/protect); absent, a call that may egress is denied. */
  readonly egress?: EgressGuard;
  /** Reversible pseudonyms on the model leg (absent: irreversible markers). */
  readonly pseudonyms?: PseudonymVault;
  /** Kill switches and tool-definition drift (the kill_switch and tool_drift stages). */
  readonly guard?: CallGuard;
  /** Times each stage of every recorded call (metrics, traces). */
  readonly observer?: PipelineObserver;
  /** Shared counters for the bundle's rate limits (without them a bundle with limits denies `rate_limit_unavailable`). */
  readonly rateCounter?: RateCounter;
  /** Reads a write's target before it runs, when the catalog names a `before` (without it such a write is denied). */
  readonly beforeState?: BeforeStateReader;
}

/** The stages of one governed call, in order (the decision stages, then the call's own). */
export const PIPELINE_STAGES: readonly string[] = Object.freeze([
  ...DECISION_STAGES.map((s) => s.name),
  'record_decision',
  'confirm',
  'before_state',
  'forward',
  'redact_output',
  'record_result',
  'monitor',
]);

/** The `output.error` of a call the agent cancelled. */
export const CANCELLED = 'cancelled';

/** An authorization before its decision row is written: what a forward is given. */
export type Decided = Omit<Authorization, 'record'>;

/** Forwards an allowed call to the upstream; runs before the intent row is durable only for a read-only, quiet call (see `run`). */
export type Forward = (auth: Decided) => Promise<unknown>;

/** The answer to "may this call go ahead?", with what the trail needs to finish the record. */
export interface Authorization {
  readonly call: ToolCall;
  readonly decision: Decision;
  readonly dataClasses: readonly string[];
  readonly toolClasses: readonly string[];
  /** The arguments as stored in the trail and shown to callers: redacted. */
  readonly redactedArguments: Redaction;
  /** The audit row written for this decision (intent, deny, or confirm when the call is held for a human). */
  readonly record: AuditRecord;
  /** Set when the arguments (or the classifier's budget) were past a limit: the call is denied `arguments_too_complex`. */
  readonly exceeded?: LimitExceeded;
  /** A model call's body as it may leave: redacted for the `model` destination (pseudonyms when configured). */
  readonly outbound?: Redaction;
  /** Where the call sends data and the hash of what leaves (on its rows as `egress`). */
  readonly egress?: EgressFinding;
  /** What a stage put on the decision row's detail (the decision input for replay, a rate limit, missing scopes, the kill switch that stopped the call). */
  readonly detail?: Readonly<Record<string, unknown>>;
  /** The W3C traceparent of the call's span, for the forward stage to hand on (when traced). */
  readonly traceparent?: string;
}

export interface Outcome {
  readonly output?: unknown;
  /** A short, non-sensitive error description when the call failed (e.g. an error code). */
  readonly error?: string;
}

export interface Completion {
  readonly output: Redaction;
  readonly record: AuditRecord;
  /** Set when the output was past a limit: it was withheld (`output.error: output_too_complex`). */
  readonly withheld?: LimitExceeded;
}

export interface AuthorizeOptions {
  /** Deny before asking the policy (what the front door found, e.g. `arguments_invalid`), still recorded under the user. */
  readonly deny?: readonly DenyReason[];
  /**
   * The front door can ask the user to confirm (e.g. an MCP elicitation): a `confirm` decision
   * then writes a `confirm` row (the call is held) instead of a `deny` row, and the front door
   * reports the human's answer with `confirm()`. `channel` names how the human is asked.
   */
  readonly confirmation?: { readonly channel: string };
  /** Which limit a front door found the request past (with `deny: ['arguments_too_complex']`); goes on the row's `detail`. */
  readonly exceeded?: LimitExceeded;
}

export interface RunOptions {
  readonly deny?: readonly DenyReason[];
  /** How to ask the human when the policy decides `confirm`; without it a `confirm` decision is a denial. */
  readonly confirmation?: { readonly channel: string; ask(auth: Authorization): Promise<ConfirmationOutcome> };
  /** The agent's request: a forward that fails after it aborted is recorded as `cancelled`. */
  readonly signal?: AbortSignal;
  /**
   * The forward sends nothing to the agent before it returns (no progress notifications, no
   * relayed server-to-client requests). Only then may a read-only call be forwarded while its
   * intent row is being written (default false: forwarded after the row is durable).
   */
  readonly quiet?: boolean;
}

export interface EvaluateOptions {
  /** The policy action asked (default: the call kind's, e.g. `call_tool`); lists ask `list_tool`. */
  readonly action?: PolicyAction;
}

/** The reason a held call's outcome row carries, by the human's answer. */
export const CONFIRMATION_REASONS: Readonly<Record<ConfirmationOutcome, string>> = {
  accepted: 'confirmation_accepted',
  declined: DENY_REASONS.CONFIRMATION_DECLINED,
  timeout: DENY_REASONS.CONFIRMATION_TIMEOUT,
  unavailable: DENY_REASONS.CONFIRMATION_UNAVAILABLE,
};

export interface AlertInput {
  readonly type: string;
  readonly severity: 'low' | 'medium' | 'high';
  /** The decision taken on the call that raised it (default deny). */
  readonly decision?: DecisionValue;
  /** The call that raised it, when there is one (its user, agent and tool go on the row). */
  readonly call?: ToolCall;
  readonly principal?: Principal | null;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** The agent of a control-plane row (a token issued to it, a delegation refused). */
export interface RowAgent {
  readonly name: string;
  readonly tier: Tier;
  readonly chain: readonly string[];
}

export interface AdminInput {
  /** What was done, e.g. session_revoked, emergency_grant_opened (`detail.action`). */
  readonly action: string;
  /** The row's reasons (default `[action]`). */
  readonly reasons?: readonly string[];
  /** Who did it: a user, `'custos'` for Custos itself (recorded as `custos:system`), or null (anonymous). */
  readonly principal: Principal | 'custos' | null;
  readonly agent?: RowAgent;
  readonly decision?: DecisionValue;
  readonly traceId?: string;
  /** Non-sensitive detail; strings in it are redacted before they are stored. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** A refused control-plane request (a token exchange, a background grant): a `deny` row. */
export interface RefusalInput {
  readonly reasons: readonly DenyReason[];
  readonly principal?: Principal | null;
  readonly agent?: RowAgent;
  readonly traceId?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface AuthFailure {
  readonly code: string;
  /** Every code, when the row stands for several failures (default `[code]`). */
  readonly reasons?: readonly string[];
  /** Non-sensitive detail: the source address, and the count of an aggregate row. */
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly kind?: CallKind;
  readonly tool?: { server: string; name: string };
  readonly requestId?: string;
  readonly traceId?: string;
}

export type RunResult =
  | { readonly forwarded: false; readonly authorization: Authorization }
  | { readonly forwarded: true; readonly authorization: Authorization; readonly completion: Completion; readonly failed: boolean };

export interface Pipeline {
  /** The decision stages, then the decision row. Never throws for a denial; throws ERR_AUDIT_UNAVAILABLE only if not even a deny row could be written. */
  authorize(call: ToolCall, options?: AuthorizeOptions): Promise<Authorization>;
  /** The decision stages alone, writing nothing (list filtering): what `authorize` would decide. */
  evaluate(call: ToolCall, options?: EvaluateOptions): Promise<Decision>;
  /**
   * Records the human's answer to a held (`confirm`) authorization: `accepted` writes the intent
   * row and returns an `allow` authorization (the call may now run); any other outcome writes a
   * deny row (reason `confirmation_<outcome>`). Throws ERR_INTERNAL for an authorization that
   * was not held, ERR_AUDIT_UNAVAILABLE when not even a deny row could be written.
   */
  confirm(auth: Authorization, outcome: ConfirmationOutcome): Promise<Authorization>;
  /** The redact_output stage alone, for a front door that streams the output in parts (each part redacted before it goes on). */
  redactPart(auth: Authorization, part: unknown): Redaction;
  /** Redacts the outcome and records the result row. Throws ERR_AUDIT_UNAVAILABLE when the row cannot be written. */
  complete(auth: Authorization, outcome: Outcome): Promise<Completion>;
  /** Every stage: authorize → (confirm) → forward (only on allow) → complete. */
  run(call: ToolCall, forward: Forward, options?: RunOptions): Promise<RunResult>;
  /** Writes a row for a request that never got an identity (bad or missing token). */
  recordAuthFailure(input: AuthFailure): Promise<AuditRecord | undefined>;
  /** Writes an alert row (for the SIEM and the monitor). Throws ERR_AUDIT_UNAVAILABLE when it cannot. */
  recordAlert(input: AlertInput): Promise<AuditRecord>;
  /** Writes an admin row (bundle activation, revocations, tokens issued, break-glass). Throws ERR_AUDIT_UNAVAILABLE when it cannot. */
  recordAdmin(input: AdminInput): Promise<AuditRecord>;
  /** Writes the deny row of a refused control-plane request. Throws ERR_AUDIT_UNAVAILABLE when it cannot. */
  recordRefusal(input: RefusalInput): Promise<AuditRecord>;
  /** Writes the rows of a verified offline journal (audited fail-open), in order. Throws ERR_AUDIT_UNAVAILABLE when it cannot. */
  recordOffline(journal: VerifiedJournal): Promise<AuditRecord[]>;
}

/** What a module outside the pipeline writes rows through (identity's token endpoint, the app). */
export type ControlPlaneRecorder = Pick<Pipeline, 'recordAdmin' | 'recordRefusal'>;

export function createPipeline(deps: PipelineDeps): Pipeline {
  const { protector, clock } = deps;
  const limits = deps.limits ?? DEFAULT_INPUT_LIMITS;
  const writer = createAuditWriter({ audit: deps.audit, protector, monitor: deps.monitor });

  function currentPolicy(): ActivePolicy | undefined {
    try {
      return deps.policy.current();
    } catch {
      return undefined;
    }
  }

  function stamp(requestId: string, bundleHash?: string): RowStamp {
    return { time: clock.now().toISOString(), requestId, bundleHash: bundleHash ?? currentPolicy()?.bundleHash ?? NO_BUNDLE_HASH };
  }

  const env: StageEnv = {
    protector,
    limits,
    emergency: deps.emergency,
    egress: deps.egress,
    pseudonyms: deps.pseudonyms,
    guard: deps.guard,
    rateCounter: deps.rateCounter,
    now: () => clock.now(),
    alertNow: async (draft, alert) => void (await recordAlert({ ...alert, call: draft.call })),
  };

  function newDraft(call: ToolCall, options: AuthorizeOptions, action: PolicyAction, recording: boolean, obs?: CallObservation): Draft {
    const observe = obs ? (stage: string, start: number, end: number) => quietly(() => obs.stage(stage, start, end)) : undefined;
    const shadow = recording ? shadowPolicy() : undefined;
    return {
      call,
      options,
      action,
      recording,
      policy: currentPolicy(),
      ...(shadow ? { shadow } : {}),
      inspection: NOTHING_FOUND,
      alerts: [] as RaisedAlert[],
      observe,
    };
  }

  function shadowPolicy(): ActivePolicy | undefined {
    try {
      return deps.policy.shadow?.();
    } catch {
      return undefined;
    }
  }

  /** Runs one public operation as one observed call (the observer's trace id goes on a call that came without one). */
  async function observed<T>(call: ToolCall, fn: (call: ToolCall, obs?: CallObservation) => Promise<T>, decisionOf: (t: T) => Decision): Promise<T> {
    const obs = deps.observer ? quietly(() => deps.observer?.begin(call)) : undefined;
    if (!obs) return fn(call);
    let result: T | undefined;
    try {
      result = await fn(obs.traceId && !call.traceId ? { ...call, traceId: obs.traceId } : call, obs);
      return result;
    } finally {
      const done = result;
      quietly(() => obs.end(done === undefined ? undefined : decisionOf(done)));
    }
  }

  async function evaluate(call: ToolCall, options: EvaluateOptions = {}): Promise<Decision> {
    return runDecisionStages(newDraft(call, {}, options.action ?? ACTION_BY_KIND[call.kind], false), env);
  }

  function authorize(call: ToolCall, options: AuthorizeOptions = {}): Promise<Authorization> {
    return observed(
      call,
      async (c, obs) => recordDecided(await decideCall(c, options, obs), options, obs),
      (a) => a.decision,
    );
  }

  /** The decision stages of a call that will be recorded; its alerts are written after its row. */
  async function decideCall(
    call: ToolCall,
    options: AuthorizeOptions,
    obs: CallObservation | undefined,
  ): Promise<{ decided: Decided; alerts: readonly RaisedAlert[] }> {
    const draft = newDraft(call, options, ACTION_BY_KIND[call.kind], true, obs);
    const decision = await runDecisionStages(draft, env);
    const exceeded = exceededOf(draft);
    const decided: Decided = {
      call: draft.call,
      decision,
      dataClasses: draft.inspection.dataClasses,
      toolClasses: draft.inspection.toolClasses,
      redactedArguments: draft.redactedArguments ?? WITHHELD,
      ...(exceeded ? { exceeded } : {}),
      ...(draft.outbound ? { outbound: draft.outbound } : {}),
      ...(draft.egress ? { egress: draft.egress } : {}),
      ...rowDetail(draft.input, draft.detail),
      ...(obs?.traceparent ? { traceparent: obs.traceparent } : {}),
    };
    return { decided, alerts: draft.alerts };
  }

  /** The record_decision stage, then the alerts the decision stages raised. */
  async function recordDecided(
    { decided, alerts }: { decided: Decided; alerts: readonly RaisedAlert[] },
    options: AuthorizeOptions,
    obs: CallObservation | undefined,
  ): Promise<Authorization> {
    const held = decided.decision.decision === 'confirm' && options.confirmation !== undefined;
    const event = decided.decision.decision === 'allow' ? 'intent' : held ? 'confirm' : 'deny';
    const authorization = await timed(obs, 'record_decision', () => recordDecision(decided, event, options.confirmation?.channel));
    for (const alert of alerts) await recordAlert({ ...alert, call: authorization.call });
    return authorization;
  }

  function decisionFields(auth: Omit<Authorization, 'record'>, confirmation?: { status: ConfirmationOutcome; channel?: string }) {
    return {
      decision: auth.decision,
      dataClasses: auth.dataClasses,
      input: { redacted: auth.redactedArguments.value, sha256: digestJson(auth.call.arguments) },
      redactions: redactionsOf(auth.redactedArguments),
      confirmation,
      egress: egressOf(auth.egress),
      detail: auth.exceeded || auth.detail ? { ...auth.detail, ...(auth.exceeded ? { limit: auth.exceeded.limit, max: auth.exceeded.max } : {}) } : undefined,
    };
  }

  /** The record_decision stage. An intent row that cannot be written becomes a deny row (the call must not run). */
  async function recordDecision(
    auth: Omit<Authorization, 'record'>,
    event: 'intent' | 'deny' | 'confirm',
    channel?: string,
    answer?: ConfirmationOutcome,
  ): Promise<Authorization> {
    const at = stamp(auth.call.requestId, auth.decision.bundleHash);
    const subject = subjectOfCall(auth.call, auth.toolClasses);
    const fields = decisionFields(auth, answer ? { status: answer, channel } : undefined);
    const entry =
      event === 'intent'
        ? buildIntentRow(at, subject, fields)
        : event === 'confirm'
          ? buildConfirmRow(at, subject, { ...fields, channel })
          : buildDenyRow(at, subject, { ...fields, value: auth.decision.decision === 'confirm' ? 'confirm' : 'deny' });
    try {
      return { ...auth, record: await writer.write(entry) };
    } catch (err) {
      // No durable intent row: the call must not run. Try to leave a deny row; if the store
      // is down that fails too, and the caller gets ERR_AUDIT_UNAVAILABLE.
      if (event !== 'intent') throw toCustosError(err, 'ERR_AUDIT_UNAVAILABLE');
      const denied: Decision = { decision: 'deny', reasons: [DENY_REASONS.AUDIT_UNAVAILABLE], bundleHash: auth.decision.bundleHash, determiningPolicies: [] };
      try {
        const record = await writer.write(buildDenyRow(at, subject, { ...fields, decision: denied }));
        return { ...auth, decision: denied, record };
      } catch (again) {
        throw toCustosError(again, 'ERR_AUDIT_UNAVAILABLE');
      }
    }
  }

  function confirm(auth: Authorization, outcome: ConfirmationOutcome): Promise<Authorization> {
    return observed(
      auth.call,
      (_c, obs) => timed(obs, 'confirm', () => confirmWith(auth, outcome)),
      (a) => a.decision,
    );
  }

  async function confirmWith(auth: Authorization, outcome: ConfirmationOutcome): Promise<Authorization> {
    if (auth.decision.decision !== 'confirm' || auth.record.event !== 'confirm') {
      throw new CustosError('ERR_INTERNAL', 'Only a held (confirm) authorization can be confirmed.');
    }
    const reason = CONFIRMATION_REASONS[outcome];
    const accepted = outcome === 'accepted';
    // The human answered under the bundle in force now: a bundle swapped while they decided decides again.
    const now = currentPolicy();
    if (accepted && now && now.bundleHash !== auth.decision.bundleHash) {
      const again = await evaluate(auth.call);
      if (again.decision === 'deny') {
        const denied: Decision = { ...again, reasons: [DENY_REASONS.POLICY_CHANGED, ...again.reasons] };
        return recordDecision({ ...auth, decision: denied }, 'deny', auth.record.confirmation?.channel, outcome);
      }
      auth = { ...auth, decision: { ...again, decision: 'confirm' } };
    }
    const decision: Decision = accepted
      ? { ...auth.decision, decision: 'allow', reasons: [...auth.decision.reasons, reason] }
      : { ...auth.decision, decision: 'deny', reasons: [reason, ...auth.decision.reasons] };
    return recordDecision({ ...auth, decision }, accepted ? 'intent' : 'deny', auth.record.confirmation?.channel, outcome);
  }

  /** The redact_output stage: an output past a limit is withheld; a redaction error returns nothing. */
  function redactOutput(auth: Authorization, outcome: Outcome, withheld: LimitExceeded | undefined): Redaction {
    if (withheld) return WITHHELD;
    try {
      return protector.redact(outcome.output, { dataClasses: auth.dataClasses, ...redactionScope(auth.call, currentPolicy(), 'agent') });
    } catch (err) {
      // A value too large to inspect says so; anything else is a redaction failure. Nothing unredacted goes on.
      if (err instanceof CustosError && err.code === 'ERR_PROTECT_TOO_LARGE') throw err;
      throw new CustosError('ERR_PROTECT_FAILED', undefined, { cause: err });
    }
  }

  function complete(auth: Authorization, outcome: Outcome): Promise<Completion> {
    return observed(
      auth.call,
      (_c, obs) => completeWith(auth, outcome, obs),
      () => auth.decision,
    );
  }

  /** redact_output → record_result. */
  async function completeWith(
    auth: Authorization,
    outcome: Outcome,
    obs: CallObservation | undefined,
    before?: Readonly<Record<string, unknown>>,
  ): Promise<Completion> {
    const start = performance.now();
    const withheld = outcome.output === undefined ? undefined : findLimitExceeded(outcome.output, limits);
    const output = redactOutput(auth, outcome, withheld);
    if (obs) quietly(() => obs.stage('redact_output', start, performance.now()));
    const entry = buildResultRow(stamp(auth.call.requestId, auth.decision.bundleHash), subjectOfCall(auth.call, auth.toolClasses), {
      decision: auth.decision,
      dataClasses: auth.dataClasses,
      output: { redacted: output.value, sha256: digestJson(outcome.output), error: withheld ? OUTPUT_TOO_COMPLEX : outcome.error },
      redactions: redactionsOf(output),
      egress: egressOf(auth.egress),
      detail: withheld || before ? { ...before, ...(withheld ? { limit: withheld.limit, max: withheld.max } : {}) } : undefined,
    });
    // Written, not awaited to disk: the intent row is durable before anything reaches the agent,
    // the result row is committed before the answer and made durable right after (architecture.md).
    // The monitor stage: the hook on the call's last row, timed inside the write and reported after record_result.
    let monitored: [number, number] | undefined;
    const timeMonitor = obs ? (start: number, end: number) => (monitored = [start, end]) : undefined;
    const record = await timed(obs, 'record_result', () => writer.write(entry, { durability: 'written', timeMonitor }));
    if (obs && monitored) {
      const [start, end] = monitored;
      quietly(() => obs.stage('monitor', start, end));
    }
    return { output, record, ...(withheld ? { withheld } : {}) };
  }

  function run(call: ToolCall, forward: Forward, options: RunOptions = {}): Promise<RunResult> {
    return observed(
      call,
      (c, obs) => runWith(c, forward, options, obs),
      (r) => r.authorization.decision,
    );
  }

  async function runWith(call: ToolCall, forward: Forward, options: RunOptions, obs: CallObservation | undefined): Promise<RunResult> {
    const ask = options.confirmation;
    const authOptions: AuthorizeOptions = { deny: options.deny, confirmation: ask ? { channel: ask.channel } : undefined };
    const decided = await decideCall(call, authOptions, obs);
    const recording = recordDecided(decided, authOptions, obs);
    // The overlap: a read-only call is forwarded now, while its intent row is being written; its
    // outcome waits below for the row, and is dropped (never returned) if the row fails.
    const early =
      options.quiet === true && overlapsIntent(decided.decided) && !beforeSourceOf(currentPolicy(), call, decided.decided.dataClasses)
        ? timed(obs, 'forward', () => forwardSafely(forward, decided.decided, options.signal))
        : undefined;
    let authorization = await recording;
    if (ask && authorization.record.event === 'confirm') {
      const held = authorization;
      authorization = await timed(obs, 'confirm', async () => confirmWith(held, await askSafely(ask, held)));
    }
    if (authorization.decision.decision !== 'allow') return { forwarded: false, authorization };
    const allowed = authorization;
    // The before_state stage: a write the catalog names a `before` for reads its target first (fail closed).
    const policy = currentPolicy();
    const source = early ? undefined : beforeSourceOf(policy, allowed.call, allowed.dataClasses);
    const before = source ? await timed(obs, 'before_state', () => readBeforeState(deps.beforeState, source, allowed, protector, policy)) : undefined;
    if (before && !before.ok) {
      const denied: Decision = { ...allowed.decision, decision: 'deny', reasons: [DENY_REASONS.BEFORE_STATE_UNAVAILABLE] };
      return {
        forwarded: false,
        authorization: await recordDecision({ ...allowed, decision: denied, detail: { ...allowed.detail, ...before.detail } }, 'deny'),
      };
    }
    const outcome = await (early ?? timed(obs, 'forward', () => forwardSafely(forward, allowed, options.signal)));
    const completion = await completeWith(authorization, outcome, obs, before?.detail);
    return { forwarded: true, authorization, completion, failed: outcome.error !== undefined || completion.withheld !== undefined };
  }

  async function recordAuthFailure(input: AuthFailure): Promise<AuditRecord | undefined> {
    const row = buildAuthFailureRow(stamp(input.requestId ?? deps.ids.newId()), {
      reasons: input.reasons ?? [input.code],
      kind: input.kind,
      tool: input.tool,
      traceId: input.traceId,
      detail: input.detail,
    });
    try {
      return await writer.write(row);
    } catch {
      return undefined; // the request is refused either way
    }
  }

  async function recordAlert(input: AlertInput): Promise<AuditRecord> {
    const subject: RowSubject = input.call ? subjectOfCall(input.call) : { user: userOf(input.principal) };
    const at = stamp(input.call?.requestId ?? deps.ids.newId());
    return writer.write(buildAlertRow(at, subject, { type: input.type, severity: input.severity, decision: input.decision ?? 'deny', detail: input.detail }));
  }

  async function recordAdmin(input: AdminInput): Promise<AuditRecord> {
    const subject = { user: input.principal === 'custos' ? { ...SYSTEM_USER } : userOf(input.principal), agent: agentOf(input.agent), traceId: input.traceId };
    return writer.write(
      buildAdminRow(stamp(deps.ids.newId()), subject, {
        action: input.action,
        reasons: input.reasons,
        decision: input.decision ?? 'allow',
        detail: input.detail,
      }),
    );
  }

  async function recordRefusal(input: RefusalInput): Promise<AuditRecord> {
    const subject = { user: userOf(input.principal), agent: agentOf(input.agent), traceId: input.traceId };
    return writer.write(
      buildDenyRow(stamp(deps.ids.newId()), subject, { decision: { reasons: input.reasons, determiningPolicies: [] }, detail: input.detail }),
    );
  }

  const redactPart = (auth: Authorization, part: unknown): Redaction => redactOutput(auth, { output: part }, undefined);

  async function recordOffline(journal: VerifiedJournal): Promise<AuditRecord[]> {
    const rows: AuditRecord[] = [];
    for (const entry of journal.entries) {
      const subject: RowSubject = {
        user: userOf(journal.principal),
        kind: 'tool',
        agent: {
          name: entry.agentName,
          tier: journal.agent.tier,
          delegation_chain: [...journal.agent.delegationChain, `tool:${entry.tool.server}/${entry.tool.name}`],
        },
        tool: { server: entry.tool.server, name: entry.tool.name },
      };
      rows.push(await writer.write(buildOfflineRow(stamp(entry.requestId, journal.bundleHash), subject, entry)));
    }
    return rows;
  }

  return { authorize, evaluate, confirm, complete, redactPart, run, recordAuthFailure, recordAlert, recordAdmin, recordRefusal, recordOffline };
}

/** The decision row's `detail` from the stages: the decision input (redacted by the writer), a limit hit, scopes missing. */
function rowDetail(input: DecisionInput | undefined, extra: Readonly<Record<string, unknown>> | undefined): { detail?: Readonly<Record<string, unknown>> } {
  if (!input && !extra) return {};
  const decisionInput = input
    ? {
        decision_input: {
          action: input.action,
          roles: [...input.principal.roles],
          groups: [...input.principal.groups],
          tenant: input.principal.tenant ?? null,
          resource_tenants: [...(input.resourceTenants ?? [])],
          emergency: input.emergency === true,
          ...(input.scopes ? { user_scopes: [...input.scopes.user], delegated_scopes: [...input.scopes.delegated] } : {}),
        },
      }
    : {};
  return { detail: { ...extra, ...decisionInput } };
}

function agentOf(agent: RowAgent | undefined): RowSubject['agent'] {
  return agent ? { name: agent.name, tier: agent.tier, delegation_chain: [...agent.chain] } : undefined;
}

/** May the call be forwarded while its intent row is being made durable? An allowed, read-only call whose arguments were inspected whole. */
function overlapsIntent(decided: Decided): boolean {
  return decided.decision.decision === 'allow' && decided.exceeded === undefined && isReadOnlyCall(decided.call.kind, decided.toolClasses);
}

/** The forward stage; never rejects (a failure is the outcome's error), so an outcome nobody awaits is dropped quietly. */
async function forwardSafely(forward: Forward, auth: Decided, signal: AbortSignal | undefined): Promise<Outcome> {
  try {
    return { output: await forward(auth) };
  } catch (err) {
    return { error: signal?.aborted ? CANCELLED : toCustosError(err, 'ERR_GATEWAY_UPSTREAM_FAILED').code };
  }
}

/** An observer's call; its errors never reach a caller. */
function quietly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** Times one call-level stage for the observer (`failed` when it threw). */
async function timed<T>(obs: CallObservation | undefined, stage: string, fn: () => Promise<T>): Promise<T> {
  if (!obs) return fn();
  const start = performance.now();
  try {
    const value = await fn();
    quietly(() => obs.stage(stage, start, performance.now()));
    return value;
  } catch (err) {
    quietly(() => obs.stage(stage, start, performance.now(), true));
    throw err;
  }
}

/** The confirm stage's question; an asker that throws is an unavailable channel (the call is denied). */
async function askSafely(ask: NonNullable<RunOptions['confirmation']>, auth: Authorization): Promise<ConfirmationOutcome> {
  try {
    return await ask.ask(auth);
  } catch {
    return 'unavailable';
  }
}
