/**
 * Bounded input at the call doors (POST /v1/authorize, /v1/results, /mcp): the body is read
 * within the byte limit and checked against the input limits before anything else sees it.
 * A body past a limit is refused with exactly one deny row under the user
 * (`arguments_too_complex`, `detail.limit` naming the limit; nothing of the body stored) and
 * ERR_INPUT_TOO_COMPLEX (400) or ERR_GATEWAY_PAYLOAD_TOO_LARGE (413). If even that row cannot
 * be written the caller gets ERR_AUDIT_UNAVAILABLE.
 */
import type { IncomingMessage } from 'node:http';
import { ARGUMENTS_TOO_COMPLEX, findLimitExceeded, isCustosError } from '../../kernel/index.js';
import type { IdSource, InputLimits, LimitExceeded, Pipeline, Principal, ToolCall, ToolRef } from '../../kernel/index.js';
import type { DeriveAgent } from '../types.js';
import { inputTooComplex, parseTraceparent, readUncheckedJsonBody } from './io.js';

export interface CallBodyDeps {
  readonly pipeline: Pipeline;
  readonly deriveAgent: DeriveAgent;
  readonly ids: IdSource;
  readonly maxBodyBytes: number;
  readonly inputLimits: InputLimits;
}

/** What a refused body says about the call it carried, as far as its top level can tell. */
export interface BodyHint {
  readonly tool?: ToolRef;
  readonly arguments?: unknown;
  readonly agentName?: string;
  readonly requestId?: string;
}

export type CallBody = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly error: Error; readonly body?: unknown };

/** The tool named when no part of the body names one. */
export const UNKNOWN_TOOL: ToolRef = Object.freeze({ server: 'unknown', name: 'unknown' });

const SHORT = /^[\x20-\x7e]{1,256}$/;

/** A string fit for a row's tool, agent or request id field, else undefined. */
export function shortString(v: unknown): string | undefined {
  return typeof v === 'string' && SHORT.test(v) ? v : undefined;
}

async function recordRefusal(deps: CallBodyDeps, req: IncomingMessage, principal: Principal, exceeded: LimitExceeded, hint: BodyHint): Promise<string> {
  const { agent } = deps.deriveAgent(principal, { name: hint.agentName ?? 'unknown' });
  const call: ToolCall = {
    requestId: hint.requestId ?? deps.ids.newId(),
    kind: 'tool',
    tool: hint.tool ?? UNKNOWN_TOOL,
    arguments: hint.arguments,
    principal,
    agent,
    traceId: parseTraceparent(req.headers.traceparent),
  };
  const auth = await deps.pipeline.authorize(call, { deny: [ARGUMENTS_TOO_COMPLEX], exceeded });
  return auth.call.requestId;
}

/** Reads a call's body within the limits; a refusal is recorded (one deny row) and returned, not thrown. */
export async function readCallBody(deps: CallBodyDeps, req: IncomingMessage, principal: Principal, describe: (body: unknown) => BodyHint): Promise<CallBody> {
  let body: unknown;
  try {
    body = await readUncheckedJsonBody(req, deps.maxBodyBytes);
  } catch (err) {
    if (!isCustosError(err) || err.code !== 'ERR_GATEWAY_PAYLOAD_TOO_LARGE') throw err;
    await recordRefusal(deps, req, principal, { limit: 'maxBodyBytes', max: deps.maxBodyBytes }, {});
    return { ok: false, error: err };
  }
  const exceeded = findLimitExceeded(body, deps.inputLimits);
  if (!exceeded) return { ok: true, body };
  const hint = safeDescribe(describe, body);
  const requestId = await recordRefusal(deps, req, principal, exceeded, hint);
  return { ok: false, error: inputTooComplex(exceeded, { request_id: requestId }), body };
}

function safeDescribe(describe: (body: unknown) => BodyHint, body: unknown): BodyHint {
  try {
    return describe(body);
  } catch {
    return {};
  }
}
