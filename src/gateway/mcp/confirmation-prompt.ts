/**
 * Custos' own confirmation prompts (164.312(c)(1): destructive operations confirmed by the
 * human). A call the policy decides `confirm` is held by the pipeline (a `confirm` row) and
 * put to the user through the agent's client as an MCP `elicitation/create` request (form
 * mode, one boolean `confirm` field) on the same session. Only the client's UI answers it:
 * nothing in the call's arguments can. The prompt names the user, the action and the
 * REDACTED arguments. accept with confirm=true → accepted; decline, cancel or confirm=false
 * → declined; no answer in time → timeout; a client without form elicitation, an error or
 * a cancelled call → unavailable. Every outcome but accepted denies the call (fail closed).
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ElicitRequestFormParams, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { CONFIRMATION_REASONS } from '../../kernel/index.js';
import type { Authorization, ConfirmationOutcome, Decision } from '../../kernel/index.js';

/** The `confirmation.channel` of rows whose confirmation was asked through MCP elicitation. */
export const CONFIRMATION_CHANNEL = 'mcp_elicitation';
export const DEFAULT_CONFIRMATION_TIMEOUT_MS = 120_000;
/** The redacted arguments shown in the prompt are cut at this length. */
const MAX_ARGUMENT_CHARS = 2000;

export interface ConfirmationAsk {
  readonly timeoutMs: number;
  /** The agent's own request (e.g. its tools/call): aborting it abandons the prompt. */
  readonly signal?: AbortSignal;
  /** Send the prompt on the stream of this client request (Streamable HTTP), not the standalone one. */
  readonly relatedRequestId?: RequestId;
}

const KIND_LABEL: Record<string, string> = {
  tool: 'call the tool',
  resource: 'read the resource',
  prompt: 'fetch the prompt',
  sampling: 'answer the sampling request',
  elicitation: 'relay the elicitation',
  model: 'send the model request',
};

/** The prompt text: who, what, with which (redacted) arguments, and why. Never raw arguments. */
export function buildConfirmationMessage(auth: Authorization): string {
  const { call, decision, redactedArguments } = auth;
  const who = call.principal?.email ?? call.principal?.sub ?? 'unknown user';
  let args = JSON.stringify(redactedArguments.value ?? {});
  if (args.length > MAX_ARGUMENT_CHARS) args = `${args.slice(0, MAX_ARGUMENT_CHARS)}…`;
  const why = decision.reasons.length > 0 ? decision.reasons.join(', ') : 'policy';
  return (
    `Custos: confirm for ${who} — ${call.agent.name} wants to ${KIND_LABEL[call.kind] ?? call.kind} ` +
    `${call.tool.server}/${call.tool.name} with arguments ${args}. ` +
    `The policy asks a human to confirm this (${why}). Request ${call.requestId}.`
  );
}

export function buildConfirmationParams(auth: Authorization): ElicitRequestFormParams {
  return {
    mode: 'form',
    message: buildConfirmationMessage(auth),
    requestedSchema: {
      type: 'object',
      properties: {
        confirm: { type: 'boolean', title: 'Confirm', description: 'Yes: let this call go ahead. No: deny it.', default: false },
      },
      required: ['confirm'],
    },
  };
}

/** Asks the session's client; never throws (every failure is an outcome that denies). */
export async function askConfirmation(server: Server, auth: Authorization, ask: ConfirmationAsk): Promise<ConfirmationOutcome> {
  if (!server.getClientCapabilities()?.elicitation?.form) return 'unavailable';
  try {
    const result = await server.elicitInput(buildConfirmationParams(auth), {
      signal: ask.signal,
      timeout: ask.timeoutMs,
      maxTotalTimeout: ask.timeoutMs,
      relatedRequestId: ask.relatedRequestId,
    });
    return result.action === 'accept' && result.content?.confirm === true ? 'accepted' : 'declined';
  } catch (err) {
    // The SDK reports an aborted request as a timeout too: look at the signal first.
    if (ask.signal?.aborted) return 'unavailable';
    return err instanceof McpError && err.code === Number(ErrorCode.RequestTimeout) ? 'timeout' : 'unavailable';
  }
}

/** What the agent is told when a confirmation did not let its call through; undefined for other decisions. */
export function describeConfirmationDenial(decision: Decision): string | undefined {
  switch (decision.reasons[0]) {
    case CONFIRMATION_REASONS.declined:
      return `Denied: the user did not confirm this call (${CONFIRMATION_REASONS.declined}).`;
    case CONFIRMATION_REASONS.timeout:
      return `Denied: the user did not answer the confirmation in time (${CONFIRMATION_REASONS.timeout}).`;
    case CONFIRMATION_REASONS.unavailable:
      return (
        `Confirmation required by policy, but Custos cannot ask the user: the agent's client does not support MCP ` +
        `elicitation (form mode) or did not answer. Denied (${CONFIRMATION_REASONS.unavailable}).`
      );
    default:
      return undefined;
  }
}
