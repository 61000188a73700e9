/**
 * The one pipeline every front door uses:
 *   classify → decide → redact input → record intent → forward → redact output → record result.
 * Authentication happens before (the front door turns a credential into a Principal or null).
 * Fail closed: no principal, no evaluable policy or no durable intent row means no forwarding.
 */
import { CustosError, isCustosError, toCustosError } from './errors.js';
import { digestJson } from './digest.js';
import { ARGUMENTS_TOO_COMPLEX, DEFAULT_INPUT_LIMITS, OUTPUT_TOO_COMPLEX, findLimitExceeded } from './limits.js';
import type { InputLimits, LimitExceeded } from './limits.js';
import type { ActivePolicy, AuditStore, Clock, IdSource, PolicyAction, PolicySource, Protector } from './ports.js';
import { AUDIT_SCHEMA, NO_BUNDLE_HASH } from './types.js';
import type { AuditEntry, AuditRecord, CallKind, ConfirmationOutcome, Decision, DecisionValue, Principal, Redaction, ToolCall } from './types.js';

export interface PipelineDeps {
  readonly policy: PolicySource;
  readonly protector: Protector;
  readonly audit: AuditStore;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** Bounds on arguments and outputs (default DEFAULT_INPUT_LIMITS). */
  readonly limits?: InputLimits;
}

/** What a row stores in place of a value past the limits: nothing of it. */
export const WITHHELD: Redaction = Object.freeze({ value: '[redacted:too_complex]', count: 1, types: Object.freeze(['too_complex']) });

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
  /** Deny before asking the policy (e.g. a tier mismatch found by the front door), still recorded under the user. */
  readonly deny?: readonly string[];
  /**
   * The front door can ask the user to confirm (e.g. an MCP elicitation): a `confirm` decision
   * then writes a `confirm` row (the call is held) instead of a `deny` row, and the front door
   * reports the human's answer with `confirm()`. `channel` names how the human is asked.
   */
  readonly confirmation?: { readonly channel: string };
  /** Which limit a front door found the request past (with `deny: ['arguments_too_complex']`); goes on the row's `detail`. */
  readonly exceeded?: LimitExceeded;
}

/** The reason a held call's outcome row carries, by the human's answer. */
export const CONFIRMATION_REASONS: Readonly<Record<ConfirmationOutcome, string>> = {
  accepted: 'confirmation_accepted',
  declined: 'confirmation_declined',
  timeout: 'confirmation_timeout',
  unavailable: 'confirmation_unavailable',
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

export interface AdminInput {
  /** What was done, e.g. session_revoked, emergency_grant_opened (the row's reason). */
  readonly action: string;
  /** Who did it (null for Custos itself). */
  readonly principal: Principal | null;
  readonly decision?: DecisionValue;
  readonly traceId?: string;
  /** Non-sensitive detail; strings in it are redacted before they are stored. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface Pipeline {
  /** Decides and records. Never throws for a denial; throws ERR_AUDIT_UNAVAILABLE only if not even a deny row could be written. */
  authorize(call: ToolCall, options?: AuthorizeOptions): Promise<Authorization>;
  /**
   * Records the human's answer to a held (`confirm`) authorization: `accepted` writes the intent
   * row and returns an `allow` authorization (the call may now run); any other outcome writes a
   * deny row (reason `confirmation_<outcome>`). Throws ERR_INTERNAL for an authorization that
   * was not held, ERR_AUDIT_UNAVAILABLE when not even a deny row could be written.
   */
  confirm(auth: Authorization, outcome: ConfirmationOutcome): Promise<Authorization>;
  /** Redacts the outcome and records the result row. Throws ERR_AUDIT_UNAVAILABLE when the row cannot be written. */
  complete(auth: Authorization, outcome: Outcome): Promise<Completion>;
  /** authorize → forward (only on allow) → complete. */
  run(call: ToolCall, forward: (call: ToolCall) => Promise<unknown>): Promise<RunResult>;
  /** Writes a row for a request that never got an identity (bad or missing token). */
  recordAuthFailure(input: AuthFailure): Promise<AuditRecord | undefined>;
  /** Writes an alert row (for the SIEM and the monitor). Throws ERR_AUDIT_UNAVAILABLE when it cannot. */
  recordAlert(input: AlertInput): Promise<AuditRecord>;
  /** Writes an admin row (revocations, break-glass grants, reviews). Throws ERR_AUDIT_UNAVAILABLE when it cannot. */
  recordAdmin(input: AdminInput): Promise<AuditRecord>;
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

const ACTION_BY_KIND: Record<CallKind, PolicyAction> = {
  tool: 'call_tool',
  resource: 'read_resource',
  prompt: 'get_prompt',
  sampling: 'sample',
  elicitation: 'sample',
  model: 'model_request',
};

export function createPipeline(deps: PipelineDeps): Pipeline {
  const { protector, audit, clock } = deps;
  const limits = deps.limits ?? DEFAULT_INPUT_LIMITS;

  function currentPolicy(): ActivePolicy | undefined {
    try {
      return deps.policy.current();
    } catch {
      return undefined;
    }
  }

  function deny(bundleHash: string, ...reasons: string[]): Decision {
    return { decision: 'deny', reasons, bundleHash, determiningPolicies: [] };
  }

  function userOf(p: Principal | null | undefined): AuditEntry['user'] {
    return p ? { sub: p.sub, iss: p.iss, email: p.email, tenant: p.tenant, session_id: p.sessionId } : { sub: null, anonymous: true };
  }

  function baseEntry(call: ToolCall): Omit<AuditEntry, 'event' | 'policy' | 'redactions'> {
    return {
      schema: AUDIT_SCHEMA,
      time: clock.now().toISOString(),
      request_id: call.requestId,
      kind: call.kind,
      user: userOf(call.principal),
      agent: {
        name: call.agent.name,
        runtime: call.agent.runtime,
        version: call.agent.version,
        tier: call.agent.tier,
        declared_tier: call.agent.declaredTier,
        delegation_chain: [...call.agent.delegationChain, `tool:${call.tool.server}/${call.tool.name}`],
      },
      trace_id: call.traceId,
      access: call.emergency ? { emergency: true, grant_id: call.emergency.grantId } : undefined,
    };
  }

  interface Inspection {
    readonly dataClasses: string[];
    readonly toolClasses: readonly string[];
    readonly tenants: { readonly named: string[]; readonly foreign: string[] };
    /** The classifier's own budget ran out: the call cannot be classified whole. */
    readonly exceeded?: LimitExceeded;
    readonly failed?: boolean;
  }

  /**
   * Classify: data classes of everything in the arguments, tool classes, tenants named. A
   * classifier that runs out of budget (ERR_INPUT_TOO_COMPLEX) says which limit; any other
   * error is an evaluation failure. Either way the call is denied, never passed unclassified.
   */
  function inspect(call: ToolCall, policy: ActivePolicy | undefined): Inspection {
    const none = { dataClasses: [], toolClasses: [], tenants: { named: [], foreign: [] } };
    if (!policy) return none;
    try {
      const dataClasses = protector.classify(call, policy.classificationRules);
      const toolClasses = policy.classifyTool(call.tool).classes;
      const named = policy.tenancyRules && protector.extractTenants ? protector.extractTenants(call, policy.tenancyRules) : [];
      return { dataClasses, toolClasses, tenants: { named, foreign: named.filter((t) => t !== call.principal?.tenant) } };
    } catch (err) {
      if (isCustosError(err) && err.code === 'ERR_INPUT_TOO_COMPLEX') {
        return { ...none, exceeded: { limit: String(err.detail?.limit ?? 'classifier'), max: Number(err.detail?.max ?? 0) } };
      }
      return { ...none, failed: true };
    }
  }

  function redactArguments(call: ToolCall, dataClasses: readonly string[]): Redaction {
    try {
      return protector.redact(call.arguments, { dataClasses });
    } catch {
      return { value: '[redacted:unprocessable]', count: 1, types: ['unprocessable'] };
    }
  }

  function decideCall(call: ToolCall, policy: ActivePolicy | undefined, found: Inspection, options: AuthorizeOptions, exceeded: LimitExceeded | undefined): Decision {
    const bundleHash = policy?.bundleHash ?? NO_BUNDLE_HASH;
    if (!call.principal) return deny(bundleHash, 'ERR_IDENTITY_TOKEN_MISSING');
    if (exceeded) return deny(bundleHash, ...new Set([...(options.deny ?? []), ARGUMENTS_TOO_COMPLEX]));
    if (options.deny?.length) return deny(bundleHash, ...options.deny);
    if (!policy) return deny(bundleHash, 'ERR_POLICY_BUNDLE_INVALID');
    if (found.failed) return deny(bundleHash, 'ERR_POLICY_EVALUATION_FAILED');
    if (found.tenants.foreign.length) return deny(bundleHash, 'tenant_mismatch');
    try {
      return policy.decide({
        action: ACTION_BY_KIND[call.kind],
        principal: call.principal,
        agent: call.agent,
        tool: call.tool,
        toolClasses: found.toolClasses,
        dataClasses: found.dataClasses,
        resourceTenants: found.tenants.named,
        emergency: call.emergency !== undefined,
      });
    } catch {
      return deny(bundleHash, 'ERR_POLICY_EVALUATION_FAILED');
    }
  }

  /**
   * Bound → classify → decide → record. Arguments past a limit are neither classified nor
   * stored: the row keeps their SHA-256 and `[redacted:too_complex]`, and names the limit.
   */
  async function authorize(call: ToolCall, options: AuthorizeOptions = {}): Promise<Authorization> {
    const policy = currentPolicy();
    const argumentsExceeded = findLimitExceeded(call.arguments, limits);
    // Classify first: a secret file's arguments are redacted as one too.
    const found: Inspection = argumentsExceeded ? { dataClasses: [], toolClasses: [], tenants: { named: [], foreign: [] } } : inspect(call, policy);
    const exceeded = options.exceeded ?? argumentsExceeded ?? found.exceeded;
    const redactedArguments = argumentsExceeded ? WITHHELD : redactArguments(call, found.dataClasses);
    const decision = decideCall(call, policy, found, options, exceeded);
    const held = decision.decision === 'confirm' && options.confirmation !== undefined;
    const event = decision.decision === 'allow' ? 'intent' : held ? 'confirm' : 'deny';
    const confirmation = held ? { status: 'requested' as const, channel: options.confirmation?.channel } : undefined;
    const auth = { call, decision, dataClasses: found.dataClasses, toolClasses: found.toolClasses, redactedArguments, ...(exceeded ? { exceeded } : {}) };
    return recordDecision(auth, event, confirmation);
  }

  /** Writes the row of a decision. An intent row that cannot be written becomes a deny row (the call must not run). */
  async function recordDecision(auth: Omit<Authorization, 'record'>, event: 'intent' | 'deny' | 'confirm', confirmation?: AuditEntry['confirmation']): Promise<Authorization> {
    const { call, decision, redactedArguments } = auth;
    const entry: AuditEntry = {
      ...baseEntry(call),
      event,
      tool: { server: call.tool.server, name: call.tool.name, classes: auth.toolClasses },
      data_classes: auth.dataClasses,
      policy: {
        decision: decision.decision,
        bundle_hash: decision.bundleHash,
        determining_policies: decision.determiningPolicies,
        reasons: decision.reasons,
      },
      input: { redacted: redactedArguments.value, sha256: digestJson(call.arguments) },
      redactions: { count: redactedArguments.count, types: redactedArguments.types },
      confirmation,
      detail: auth.exceeded ? { limit: auth.exceeded.limit, max: auth.exceeded.max } : undefined,
    };
    try {
      return { ...auth, record: await audit.append(entry) };
    } catch (err) {
      // No durable intent row: the call must not run. Try to leave a deny row; if the store
      // is down that fails too, and the caller gets ERR_AUDIT_UNAVAILABLE.
      if (event !== 'intent') throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { cause: err });
      const denied = deny(decision.bundleHash, 'ERR_AUDIT_UNAVAILABLE');
      try {
        const record = await audit.append({ ...entry, event: 'deny', policy: { ...entry.policy, decision: 'deny', reasons: denied.reasons, determining_policies: [] } });
        return { ...auth, decision: denied, record };
      } catch (again) {
        throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { cause: again });
      }
    }
  }

  async function confirm(auth: Authorization, outcome: ConfirmationOutcome): Promise<Authorization> {
    if (auth.decision.decision !== 'confirm' || auth.record.event !== 'confirm') {
      throw new CustosError('ERR_INTERNAL', 'Only a held (confirm) authorization can be confirmed.');
    }
    const reason = CONFIRMATION_REASONS[outcome];
    const accepted = outcome === 'accepted';
    const decision: Decision = accepted
      ? { ...auth.decision, decision: 'allow', reasons: [...auth.decision.reasons, reason] }
      : { ...auth.decision, decision: 'deny', reasons: [reason, ...auth.decision.reasons] };
    const channel = auth.record.confirmation?.channel;
    return recordDecision({ ...auth, decision }, accepted ? 'intent' : 'deny', { status: outcome, channel });
  }

  function redactOutput(auth: Authorization, outcome: Outcome, withheld: LimitExceeded | undefined): Redaction {
    if (withheld) return WITHHELD;
    try {
      return protector.redact(outcome.output, { dataClasses: auth.dataClasses });
    } catch (err) {
      throw new CustosError('ERR_PROTECT_FAILED', undefined, { cause: err });
    }
  }

  /**
   * Bound → redact → record the result. An output past a limit is withheld: the result row
   * keeps its SHA-256, `[redacted:too_complex]` and `output.error: output_too_complex`.
   */
  async function complete(auth: Authorization, outcome: Outcome): Promise<Completion> {
    const withheld = outcome.output === undefined ? undefined : findLimitExceeded(outcome.output, limits);
    const output = redactOutput(auth, outcome, withheld);
    const entry: AuditEntry = {
      ...baseEntry(auth.call),
      event: 'result',
      tool: { server: auth.call.tool.server, name: auth.call.tool.name, classes: auth.toolClasses },
      data_classes: auth.dataClasses,
      policy: {
        decision: auth.decision.decision,
        bundle_hash: auth.decision.bundleHash,
        determining_policies: auth.decision.determiningPolicies,
        reasons: auth.decision.reasons,
      },
      output: { redacted: output.value, sha256: digestJson(outcome.output), error: withheld ? OUTPUT_TOO_COMPLEX : outcome.error },
      redactions: { count: output.count, types: output.types },
      detail: withheld ? { limit: withheld.limit, max: withheld.max } : undefined,
    };
    try {
      return { output, record: await audit.append(entry), ...(withheld ? { withheld } : {}) };
    } catch (err) {
      throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { cause: err });
    }
  }

  async function run(call: ToolCall, forward: (call: ToolCall) => Promise<unknown>): Promise<RunResult> {
    const authorization = await authorize(call);
    if (authorization.decision.decision !== 'allow') return { forwarded: false, authorization };
    let outcome: Outcome;
    let failed = false;
    try {
      outcome = { output: await forward(call) };
    } catch (err) {
      failed = true;
      outcome = { error: toCustosError(err, 'ERR_GATEWAY_UPSTREAM_FAILED').code };
    }
    const completion = await complete(authorization, outcome);
    return { forwarded: true, authorization, completion, failed: failed || completion.withheld !== undefined };
  }

  async function recordAuthFailure(input: AuthFailure): Promise<AuditRecord | undefined> {
    const policy = currentPolicy();
    try {
      return await audit.append({
        schema: AUDIT_SCHEMA,
        event: 'auth_failure',
        time: clock.now().toISOString(),
        request_id: input.requestId ?? deps.ids.newId(),
        kind: input.kind,
        user: { sub: null, anonymous: true },
        tool: input.tool,
        policy: { decision: 'deny', bundle_hash: policy?.bundleHash ?? NO_BUNDLE_HASH, determining_policies: [], reasons: [...(input.reasons ?? [input.code])] },
        redactions: { count: 0, types: [] },
        trace_id: input.traceId,
        detail: input.detail,
      });
    } catch {
      return undefined; // the request is refused either way
    }
  }

  async function recordAlert(input: AlertInput): Promise<AuditRecord> {
    const policy = currentPolicy();
    const call = input.call;
    const base = call ? baseEntry(call) : { schema: AUDIT_SCHEMA, time: clock.now().toISOString(), request_id: deps.ids.newId(), user: userOf(input.principal) };
    try {
      return await audit.append({
        ...base,
        event: 'alert',
        tool: call ? { server: call.tool.server, name: call.tool.name } : undefined,
        policy: { decision: input.decision ?? 'deny', bundle_hash: policy?.bundleHash ?? NO_BUNDLE_HASH, determining_policies: [], reasons: [input.type] },
        redactions: { count: 0, types: [] },
        alert: { type: input.type, severity: input.severity },
        detail: input.detail,
      });
    } catch (err) {
      throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { cause: err });
    }
  }

  async function recordAdmin(input: AdminInput): Promise<AuditRecord> {
    const policy = currentPolicy();
    let detail: Readonly<Record<string, unknown>> | undefined;
    try {
      detail = input.detail === undefined ? undefined : protector.redact(input.detail).value;
    } catch (err) {
      throw new CustosError('ERR_PROTECT_FAILED', undefined, { cause: err });
    }
    try {
      return await audit.append({
        schema: AUDIT_SCHEMA,
        event: 'admin',
        time: clock.now().toISOString(),
        request_id: deps.ids.newId(),
        user: userOf(input.principal),
        policy: { decision: input.decision ?? 'allow', bundle_hash: policy?.bundleHash ?? NO_BUNDLE_HASH, determining_policies: [], reasons: [input.action] },
        redactions: { count: 0, types: [] },
        trace_id: input.traceId,
        detail: { action: input.action, ...detail },
      });
    } catch (err) {
      throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { cause: err });
    }
  }

  return { authorize, confirm, complete, run, recordAuthFailure, recordAlert, recordAdmin };
}
