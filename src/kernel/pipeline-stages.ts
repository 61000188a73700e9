/**
 * The decision half of the pipeline as named stages, run in order over one draft. A stage
 * reads and fills the draft; the first stage that denies sets `reasons` and the stages after
 * it that decide are skipped (classification and redaction still run, so the row is
 * redacted by what the call touches). A new control is a new entry of DECISION_STAGES:
 * both front doors, the call and the list filter, get it at once.
 */
import { isCustosError } from './errors.js';
import { DENY_REASONS } from './deny-reasons.js';
import { findLimitExceeded } from './limits.js';
import type { LimitExceeded } from './limits.js';
import type { ActivePolicy, CallGuard, PolicyAction, Protector } from './ports.js';
import { decisive } from './stage.js';
import type { Draft, Inspection, Stage, StageEnv } from './stage.js';
import { NO_BUNDLE_HASH } from './types.js';
import type { CallKind, Decision, Principal, Redaction, ToolCall } from './types.js';

export { decisive };
export type { Draft, DraftOptions, Inspection, RaisedAlert, Stage, StageEnv } from './stage.js';
import { redactionScope } from './redaction-scope.js';
import { egressStage, redactModelStage } from './egress-stage.js';
import { scopes } from './stage-scopes.js';
import { rateLimit } from './stage-rate-limit.js';
import { shadow } from './stage-shadow.js';

/** What a row stores in place of a value past the limits: nothing of it. */
export const WITHHELD: Redaction = Object.freeze({ value: '[redacted:too_complex]', count: 1, types: Object.freeze(['too_complex']) });

export const ACTION_BY_KIND: Readonly<Record<CallKind, PolicyAction>> = {
  tool: 'call_tool',
  resource: 'read_resource',
  prompt: 'get_prompt',
  sampling: 'sample',
  elicitation: 'sample',
  model: 'model_request',
};

export const NOTHING_FOUND: Inspection = Object.freeze({ dataClasses: [], toolClasses: [], tenants: { named: [], foreign: [] } });

/**
 * Classify: data classes of everything in the arguments, tool classes, tenants named. A
 * classifier that runs out of budget (ERR_INPUT_TOO_COMPLEX) says which limit; any other
 * error is an evaluation failure. Either way the call is denied, never passed unclassified.
 */
function inspect(call: ToolCall, policy: ActivePolicy, protector: Protector): Inspection {
  try {
    const dataClasses = protector.classify(call, policy.classificationRules);
    const toolClasses = policy.classifyTool(call.tool).classes;
    const named = policy.tenancyRules && protector.extractTenants ? protector.extractTenants(call, policy.tenancyRules) : [];
    return { dataClasses, toolClasses, tenants: { named, foreign: named.filter((t) => t !== call.principal?.tenant) } };
  } catch (err) {
    if (isCustosError(err) && err.code === 'ERR_INPUT_TOO_COMPLEX') {
      return { ...NOTHING_FOUND, exceeded: { limit: String(err.detail?.limit ?? 'classifier'), max: Number(err.detail?.max ?? 0) } };
    }
    return { ...NOTHING_FOUND, failed: true };
  }
}

/** Bound: arguments past a limit are neither classified nor stored. */
const bound: Stage = {
  name: 'bound',
  run(draft, env) {
    draft.argumentsExceeded = findLimitExceeded(draft.call.arguments, env.limits);
  },
};

/** Classify (before any verdict: a denied call's row is still redacted by what it touches). */
const classify: Stage = {
  name: 'classify',
  run(draft, env) {
    if (!draft.argumentsExceeded && draft.policy) draft.inspection = inspect(draft.call, draft.policy, env.protector);
  },
};

const identity = decisive('identity', (d) => (d.call.principal ? undefined : [DENY_REASONS.NO_IDENTITY]));

/** A tier is never taken on the agent's word: a declared tier that disagrees is denied and alerted. */
const tier = decisive('tier', (d) => {
  if (!d.call.agent.tierMismatch) return undefined;
  const detail = { declared_tier: d.call.agent.declaredTier ?? null, derived_tier: d.call.agent.tier };
  d.alerts.push({ type: DENY_REASONS.TIER_MISMATCH, severity: 'high', detail });
  return [DENY_REASONS.TIER_MISMATCH];
});

/** Inspect completely or deny: past an input limit, or past the classifier's budget. */
const limits = decisive('limits', (d) => {
  const exceeded = exceededOf(d);
  return exceeded ? [...new Set([...(d.options.deny ?? []), DENY_REASONS.ARGUMENTS_TOO_COMPLEX])] : undefined;
});

/** What the front door found (arguments invalid for the tool's schema, a refused session). */
const door = decisive('door', (d) => d.options.deny);

/** Break-glass: a call covered by the user's open grant runs with `emergency` set, and the use is alerted. */
const breakGlass = decisive('break_glass', async (d, env) => {
  const grant = await activeGrant(env, d.call.principal);
  if (!grant) return undefined;
  d.call = { ...d.call, emergency: { grantId: grant.grantId } };
  if (d.recording) await env.alertNow(d, { type: 'emergency_access', severity: 'high', decision: 'allow', detail: { grant_id: grant.grantId, phase: 'used' } });
  return undefined;
});

/** A guard stage: a guard that throws denies (it never should). */
function guarded(name: string, run: (draft: Draft, guard: CallGuard) => readonly string[] | undefined): Stage {
  return decisive(name, (d, env) => {
    if (!env.guard) return undefined;
    try {
      return run(d, env.guard);
    } catch {
      return [DENY_REASONS.POLICY_EVALUATION_FAILED];
    }
  });
}

/** Kill switch: an admin stopped this agent, tool, upstream or user's agents (the switch goes on the row's detail). */
const killSwitch = guarded('kill_switch', (d, guard) => {
  const hit = guard.killSwitch(d.call);
  if (!hit) return undefined;
  d.detail = { ...d.detail, kill_switch: { id: hit.id, target: hit.target, reason: hit.reason } };
  return [DENY_REASONS.KILL_SWITCH];
});

/** Tool drift: a tool whose definition changed since it was approved is quarantined (not listed, not callable). */
const toolDrift = guarded('tool_drift', (d, guard) =>
  d.call.kind === 'tool' && guard.quarantined(d.call) ? [DENY_REASONS.TOOL_DEFINITION_CHANGED] : undefined,
);

const policyLoaded = decisive('policy', (d) => (d.policy ? undefined : [DENY_REASONS.NO_POLICY]));

const classified = decisive('classified', (d) => (d.inspection.failed ? [DENY_REASONS.POLICY_EVALUATION_FAILED] : undefined));

const tenancy = decisive('tenancy', (d) => (d.inspection.tenants.foreign.length > 0 ? [DENY_REASONS.TENANT_MISMATCH] : undefined));

/** Cedar: default deny; an error denies. */
const decide = decisive('decide', (d) => {
  const { call, policy, inspection } = d;
  if (!policy || !call.principal) return [DENY_REASONS.NO_POLICY];
  try {
    d.input = {
      action: d.action,
      principal: call.principal,
      agent: call.agent,
      tool: call.tool,
      toolClasses: inspection.toolClasses,
      dataClasses: inspection.dataClasses,
      resourceTenants: inspection.tenants.named,
      emergency: call.emergency !== undefined,
      ...(d.scopes ? { scopes: d.scopes } : {}),
    };
    d.decision = policy.decide(d.input);
    return undefined;
  } catch {
    return [DENY_REASONS.POLICY_EVALUATION_FAILED];
  }
});

/** Redact the arguments as the trail and the callers see them. */
const redactInput: Stage = {
  name: 'redact_input',
  run(draft, env) {
    if (!draft.recording) return;
    if (draft.argumentsExceeded) {
      draft.redactedArguments = WITHHELD;
      return;
    }
    try {
      draft.redactedArguments = env.protector.redact(draft.call.arguments, {
        dataClasses: draft.inspection.dataClasses,
        ...redactionScope(draft.call, draft.policy, 'audit'),
      });
    } catch {
      draft.redactedArguments = { value: '[redacted:unprocessable]', count: 1, types: ['unprocessable'] };
    }
  },
};

/** The decision stages, in order. Add a control here, once. */
export const DECISION_STAGES: readonly Stage[] = Object.freeze([
  bound,
  classify,
  identity,
  tier,
  limits,
  door,
  killSwitch,
  toolDrift,
  breakGlass,
  policyLoaded,
  classified,
  tenancy,
  scopes,
  redactModelStage,
  egressStage,
  decide,
  rateLimit,
  shadow,
  redactInput,
]);

/** The limit the draft is past, if any: the front door's, the arguments', or the classifier's. */
export function exceededOf(d: Draft): LimitExceeded | undefined {
  return d.options.exceeded ?? d.argumentsExceeded ?? d.inspection.exceeded;
}

/** The open grant of the principal's session. A lookup that fails is no grant: never more access than without break-glass. */
async function activeGrant(env: StageEnv, principal: Principal | null): Promise<{ readonly grantId: string } | undefined> {
  if (!env.emergency || !principal) return undefined;
  try {
    return await env.emergency.activeGrant(principal);
  } catch {
    return undefined;
  }
}

/** Runs the decision stages over a draft; the decision is the first denial, else the policy's. */
export async function runDecisionStages(draft: Draft, env: StageEnv, stages: readonly Stage[] = DECISION_STAGES): Promise<Decision> {
  for (const stage of stages) {
    if (!draft.observe) {
      await stage.run(draft, env);
      continue;
    }
    const start = performance.now();
    await stage.run(draft, env);
    draft.observe(stage.name, start, performance.now());
  }
  const bundleHash = draft.policy?.bundleHash ?? NO_BUNDLE_HASH;
  if (draft.reasons) return { decision: 'deny', reasons: draft.reasons, bundleHash, determiningPolicies: [] };
  return draft.decision ?? { decision: 'deny', reasons: [DENY_REASONS.POLICY_EVALUATION_FAILED], bundleHash, determiningPolicies: [] };
}
