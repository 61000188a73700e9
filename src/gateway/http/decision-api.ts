/**
 * The decision API, for frameworks that call tools themselves:
 *   POST /v1/authorize  → the pipeline's decision (a denial is a 200 with decision "deny")
 *   POST /v1/results    → the redacted output, recorded as the result row
 *   POST /v1/confirmations → the human's answer to a held (`confirm`) call (confirmation-api.ts)
 * Documented in docs/api.md.
 */
import { runtimeHeadersOf } from '../shared/agent-runtime.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustosError } from '../../kernel/index.js';
import type { IdSource, InputLimits, Pipeline, PolicySource, Principal, ToolCall } from '../../kernel/index.js';
import type { DeriveAgent, Logger } from '../types.js';
import type { Authenticator } from '../shared/auth.js';
import { API_CONFIRMATION_CHANNEL, createConfirmationApi } from './confirmation-api.js';
import { buildDecisionReply } from './decision-reply.js';
import { readCallBody, shortString } from '../shared/call-body.js';
import type { BodyHint } from '../shared/call-body.js';
import { inputTooComplex, parseTraceparent, sendJson } from '../shared/io.js';
import type { PendingStore } from './pending-store.js';
import { AuthorizeRequest, ResultsRequest, parseBody } from './schemas.js';

export interface DecisionApiDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  readonly policy: PolicySource;
  readonly deriveAgent: DeriveAgent;
  readonly pending: PendingStore;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** Depth, count and size limits of a body (checked before anything else reads it). */
  readonly inputLimits: InputLimits;
}

export interface DecisionApi {
  authorize(req: IncomingMessage, res: ServerResponse): Promise<void>;
  results(req: IncomingMessage, res: ServerResponse): Promise<void>;
  confirmations(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** The tool, arguments and request id a decision API body names at its top level (for the row of a refused body). */
function describeBody(body: unknown): BodyHint {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const tool = (typeof b.tool === 'object' && b.tool !== null ? b.tool : {}) as Record<string, unknown>;
  const agent = (typeof b.agent === 'object' && b.agent !== null ? b.agent : {}) as Record<string, unknown>;
  const server = shortString(tool.server);
  const name = shortString(tool.name);
  return {
    tool: server && name ? { server, name } : undefined,
    arguments: b.arguments ?? b.output,
    agentName: shortString(agent.name),
    requestId: shortString(b.request_id),
  };
}

const alreadyPending = (): CustosError => new CustosError('ERR_GATEWAY_CONFLICT', 'The request_id is already pending.');

export function createDecisionApi(deps: DecisionApiDeps): DecisionApi {
  /** The body as a ToolCall; the pipeline's stages do the rest (tier check, break-glass, tenancy, decision…). */
  function buildCall(principal: Principal, body: AuthorizeRequest, req: IncomingMessage): ToolCall {
    const { agent, tierMismatch } = deps.deriveAgent(principal, { ...body.agent, ...runtimeHeadersOf(req.headers) });
    return {
      requestId: body.request_id ?? deps.ids.newId(),
      kind: 'tool',
      tool: { server: body.tool.server, name: body.tool.name },
      arguments: body.arguments,
      principal,
      agent: tierMismatch ? { ...agent, tierMismatch: true } : agent,
      traceId: parseTraceparent(req.headers.traceparent),
    };
  }

  /** The body within the limits, or the refusal (already recorded as one deny row) thrown. */
  async function readBody(req: IncomingMessage, principal: Principal): Promise<unknown> {
    const read = await readCallBody(deps, req, principal, describeBody);
    if (!read.ok) throw read.error;
    return read.body;
  }

  async function authorize(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const principal = await deps.auth.authenticate(req, res, { kind: 'tool' });
    if (!principal) return;
    const body = parseBody(AuthorizeRequest, await readBody(req, principal));
    if (body.request_id !== undefined && (await deps.pending.get(body.request_id))) throw alreadyPending();
    // A confirm decision is held (a confirm row) until the framework reports the human's answer.
    const authorization = await deps.pipeline.authorize(buildCall(principal, body, req), { confirmation: { channel: API_CONFIRMATION_CHANNEL } });
    const call = authorization.call;
    if (authorization.exceeded) throw inputTooComplex(authorization.exceeded, { request_id: call.requestId });
    const kept = authorization.decision.decision === 'allow' || (authorization.decision.decision === 'confirm' && authorization.record.event === 'confirm');
    const pending = kept ? await deps.pending.add(call.requestId, authorization, principal) : undefined;
    if (kept && !pending) throw alreadyPending(); // another replica took the id meanwhile
    sendJson(res, 200, buildDecisionReply(authorization, pending));
  }

  async function results(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const principal = await deps.auth.authenticate(req, res, { kind: 'tool' });
    if (!principal) return;
    const body = parseBody(ResultsRequest, await readBody(req, principal));
    // Taken atomically (on any replica): a second completion, even racing this one, finds nothing.
    const pending = await deps.pending.take(body.request_id, principal, false);
    if (!pending) {
      const other = await deps.pending.get(body.request_id);
      if (other && (other.owner.sub !== principal.sub || other.owner.iss !== principal.iss))
        throw new CustosError('ERR_IDENTITY_SESSION_MISMATCH', 'The authorization belongs to another user.');
      if (other) throw new CustosError('ERR_GATEWAY_CONFLICT', 'The call is held for confirmation: report the answer first.');
      throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No pending authorization has this request_id (unknown, expired or already completed).');
    }
    let completion;
    try {
      completion = await deps.pipeline.complete(pending.authorization, { output: body.output, error: body.error });
    } catch (err) {
      await deps.pending.restore(body.request_id, pending).catch(() => undefined); // the result row is not written: it may be reported again
      throw err;
    }
    sendJson(res, 200, {
      output: completion.output.value ?? null,
      redactions: { count: completion.output.count, types: completion.output.types },
      request_id: body.request_id,
    });
  }

  const confirmations = createConfirmationApi(deps).confirm;
  return { authorize, results, confirmations };
}
