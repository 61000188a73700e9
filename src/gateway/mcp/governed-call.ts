/**
 * The MCP door's side of a governed action (tool call, resource read, prompt fetch,
 * completion, elicitation or sampling relay): translate it into a `ToolCall`, hand it to the
 * kernel pipeline (which runs every stage: tier check, break-glass, bounds, tenancy,
 * decision, confirmation, the rows, forwarding), and translate the outcome back. A
 * `confirm` decision is put to the human through `confirm` (see confirmation-prompt.ts).
 */
import { CANCELLED, CustosError, ERROR_CODES } from '../../kernel/index.js';
import type {
  Authorization,
  CallKind,
  ConfirmationOutcome,
  DenyReason,
  ErrorCode,
  Forward,
  Pipeline,
  RunResult,
  ToolCall,
  ToolRef,
} from '../../kernel/index.js';
import type { DerivedAgent } from '../types.js';
import { CONFIRMATION_CHANNEL, describeConfirmationDenial } from './confirmation-prompt.js';
import type { RequestContext } from './request-context.js';

export interface GovernedAction {
  readonly kind: CallKind;
  readonly tool: ToolRef;
  readonly arguments: unknown;
}

export interface GovernDeps {
  readonly pipeline: Pipeline;
  readonly newId: () => string;
}

export interface GovernOptions {
  /** The agent's request: aborting it cancels the forwarded call. */
  readonly signal?: AbortSignal;
  /** Asks the human to confirm a held call; without it a `confirm` decision is a denial. */
  readonly confirm?: (auth: Authorization) => Promise<ConfirmationOutcome>;
  /** What the door found before the pipeline (arguments that do not match the tool's input schema), still recorded. */
  readonly deny?: readonly DenyReason[];
  /** The forward sends nothing to the agent before it returns: a read-only call may overlap its intent row (RunOptions.quiet). */
  readonly quiet?: boolean;
}

/** The `ToolCall` of an MCP action by this request's user and agent. */
export function toToolCall(requestId: string, ctx: RequestContext, derived: DerivedAgent, action: GovernedAction): ToolCall {
  const agent = derived.tierMismatch ? { ...derived.agent, tierMismatch: true } : derived.agent;
  return { requestId, ...action, principal: ctx.principal, agent, traceId: ctx.traceId };
}

export async function runGoverned(
  deps: GovernDeps,
  ctx: RequestContext,
  derived: DerivedAgent,
  action: GovernedAction,
  forward: Forward,
  options: GovernOptions = {},
): Promise<RunResult> {
  const call = toToolCall(deps.newId(), ctx, derived, action);
  const ask = options.confirm;
  return deps.pipeline.run(call, forward, {
    signal: options.signal,
    deny: options.deny,
    quiet: options.quiet,
    confirmation: ask ? { channel: CONFIRMATION_CHANNEL, ask } : undefined,
  });
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
      ? new CustosError('ERR_GATEWAY_CANCELLED', undefined, { detail: { request_id: call.requestId } })
      : new CustosError(isKnownCode(code) ? code : 'ERR_GATEWAY_UPSTREAM_FAILED', undefined, { detail: { request_id: call.requestId } });
  }
  return result.completion.output.value;
}

function isKnownCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
