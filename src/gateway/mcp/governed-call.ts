/**
 * Runs any governed MCP action (tool call, resource read, prompt fetch, completion,
 * elicitation or sampling relay) through the kernel pipeline: authorize (a tier mismatch is
 * denied and alerted first), forward only on allow, complete with the redacted outcome. A
 * call aborted by the agent is recorded with `output.error = "cancelled"`. A `confirm`
 * decision holds the call while `confirm` asks the human (see confirmation-prompt.ts); the
 * pipeline records their answer, and only an acceptance lets the call run.
 */
import { CustosError, ERROR_CODES, toCustosError } from '../../kernel/index.js';
import type { Authorization, CallKind, ConfirmationOutcome, ErrorCode, Pipeline, RunResult, ToolCall, ToolRef } from '../../kernel/index.js';
import { applyEmergencyGrant } from '../http/emergency-hook.js';
import type { EmergencyPort } from '../http/session-types.js';
import type { DerivedAgent, Logger } from '../types.js';
import { CONFIRMATION_CHANNEL, describeConfirmationDenial } from './confirmation-prompt.js';
import type { RequestContext } from './session-server.js';
import { TIER_MISMATCH } from '../http/decision-api.js';

export { TIER_MISMATCH };
export const CANCELLED = 'cancelled';

export interface GovernedAction {
  readonly kind: CallKind;
  readonly tool: ToolRef;
  readonly arguments: unknown;
}

export interface GovernDeps {
  readonly pipeline: Pipeline;
  readonly logger: Logger;
  readonly newId: () => string;
  /** Break-glass: a call covered by the user's open grant runs with `emergency` set. */
  readonly emergency?: EmergencyPort;
}

export interface GovernOptions {
  /** The agent's request: aborting it cancels the forwarded call. */
  readonly signal?: AbortSignal;
  /** Asks the human to confirm a held call; without it a `confirm` decision is a denial. */
  readonly confirm?: (auth: Authorization) => Promise<ConfirmationOutcome>;
  /** Deny before asking the policy (e.g. arguments that do not match the tool's input schema), still recorded. */
  readonly deny?: readonly string[];
}

export async function runGoverned(
  deps: GovernDeps,
  ctx: RequestContext,
  derived: DerivedAgent,
  action: GovernedAction,
  forward: (auth: Authorization) => Promise<unknown>,
  options: GovernOptions = {},
): Promise<RunResult> {
  const { signal, confirm } = options;
  const { agent, tierMismatch } = derived;
  const call: ToolCall = { requestId: deps.newId(), ...action, principal: ctx.principal, agent, traceId: ctx.traceId };
  if (tierMismatch) {
    deps.logger.warn({ request_id: call.requestId, sub: ctx.principal.sub, agent: agent.name }, 'declared agent tier disagrees with the credential');
    const authorization = await deps.pipeline.authorize(call, { deny: [TIER_MISMATCH] });
    await deps.pipeline.recordAlert({ type: TIER_MISMATCH, severity: 'high', call, detail: { declared_tier: ctx.declaredTier ?? null, derived_tier: agent.tier } });
    return { forwarded: false, authorization };
  }
  if (options.deny?.length) return { forwarded: false, authorization: await deps.pipeline.authorize(call, { deny: options.deny }) };
  let authorization = await deps.pipeline.authorize(await applyEmergencyGrant(deps.emergency, deps.pipeline, call), confirm ? { confirmation: { channel: CONFIRMATION_CHANNEL } } : {});
  if (confirm && authorization.record.event === 'confirm') authorization = await deps.pipeline.confirm(authorization, await confirm(authorization));
  if (authorization.decision.decision !== 'allow') return { forwarded: false, authorization };
  let output: unknown;
  let error: string | undefined;
  try {
    output = await forward(authorization);
  } catch (err) {
    error = signal?.aborted ? CANCELLED : toCustosError(err, 'ERR_GATEWAY_UPSTREAM_FAILED').code;
  }
  const completion = await deps.pipeline.complete(authorization, error === undefined ? { output } : { error });
  return { forwarded: true, authorization, completion, failed: error !== undefined || completion.withheld !== undefined };
}

/** The redacted output of an allowed, successful action; a denial or failure becomes a CustosError (a JSON-RPC error). */
export function forwardedOutput(result: RunResult): unknown {
  const { decision, call } = result.authorization;
  const reasons = decision.reasons.length > 0 ? decision.reasons.join(', ') : 'no reason given';
  const detail = { reasons: decision.reasons, request_id: call.requestId };
  if (!result.forwarded) {
    const unconfirmed = describeConfirmationDenial(decision);
    if (unconfirmed !== undefined) throw new CustosError('ERR_POLICY_DENIED', unconfirmed, { detail });
    if (decision.decision === 'confirm') throw new CustosError('ERR_POLICY_CONFIRMATION_REQUIRED', `Confirmation required by policy (${reasons}).`, { detail });
    throw new CustosError('ERR_POLICY_DENIED', `Denied by policy: ${reasons}`, { detail });
  }
  if (result.failed) {
    const code = result.completion.record.output?.error ?? 'ERR_GATEWAY_UPSTREAM_FAILED';
    throw code === CANCELLED
      ? new CustosError('ERR_GATEWAY_CONFLICT', 'The request was cancelled.', { detail: { request_id: call.requestId } })
      : new CustosError(isKnownCode(code) ? code : 'ERR_GATEWAY_UPSTREAM_FAILED', undefined, { detail: { request_id: call.requestId } });
  }
  return result.completion.output.value;
}

function isKnownCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
