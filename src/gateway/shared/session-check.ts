/**
 * The session hook of the authenticator: after the credential verifies, the session must not
 * be revoked or idle, and there must be a user (not a service credential). A refused request is recorded under the user (never anonymous): a deny
 * row naming the tool when the request is a tool call (MCP tools/call or POST /v1/authorize),
 * else an alert row; then 401 with the error code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustosError, DENY_REASONS, isCustosError } from '../../kernel/index.js';
import type { DenyReason, IdSource, Pipeline, Principal, SessionGuard, ToolCall, ToolRef } from '../../kernel/index.js';
import { parseToolName } from './tool-names.js';
import type { DeriveAgent, Logger } from '../types.js';
import { parseTraceparent, readJsonBody, sendError } from './io.js';

export interface SessionCheckDeps {
  readonly sessions: SessionGuard;
  readonly deriveAgent: DeriveAgent;
  readonly pipeline: Pipeline;
  readonly logger: Logger;
  readonly ids: IdSource;
  readonly maxBodyBytes: number;
}

const REASONS: Partial<Record<string, DenyReason>> = {
  ERR_IDENTITY_SESSION_REVOKED: DENY_REASONS.SESSION_REVOKED,
  ERR_IDENTITY_SESSION_IDLE: DENY_REASONS.SESSION_IDLE,
  ERR_IDENTITY_CLIENT_NOT_INTERACTIVE: DENY_REASONS.NO_USER,
  ERR_IDENTITY_SESSION_STORE_UNAVAILABLE: DENY_REASONS.SESSION_STORE_UNAVAILABLE,
};

interface Described {
  readonly tool: ToolRef;
  readonly arguments: unknown;
  readonly agentName?: string;
}

/** The tool a refused request was about, when its body says (best effort; the body is not used otherwise). */
async function describeRequest(req: IncomingMessage, maxBytes: number): Promise<Described | undefined> {
  if (req.method !== 'POST') return undefined;
  try {
    const body = (await readJsonBody(req, maxBytes)) as Record<string, unknown>;
    const messages = (Array.isArray(body) ? body : [body]) as Array<Record<string, unknown>>;
    const rpc = messages.find((m) => m?.method === 'tools/call');
    const params = rpc?.params as { name?: unknown; arguments?: unknown } | undefined;
    if (typeof params?.name === 'string') return { tool: parseToolName(params.name), arguments: params.arguments ?? {} };
    const tool = body?.tool as { server?: unknown; name?: unknown } | undefined;
    if (typeof tool?.server === 'string' && typeof tool.name === 'string') {
      const agent = body.agent as { name?: unknown } | undefined;
      return {
        tool: { server: tool.server, name: tool.name },
        arguments: body.arguments ?? {},
        agentName: typeof agent?.name === 'string' ? agent.name : undefined,
      };
    }
  } catch {
    // not a tool call we can name: the alert row below records the request instead
  }
  return undefined;
}

async function recordRefusal(deps: SessionCheckDeps, req: IncomingMessage, principal: Principal, code: string, reason: DenyReason): Promise<void> {
  const traceId = parseTraceparent(req.headers.traceparent);
  const described = await describeRequest(req, deps.maxBodyBytes);
  if (described) {
    const { agent } = deps.deriveAgent(principal, { name: described.agentName ?? 'unknown' });
    const call: ToolCall = { requestId: deps.ids.newId(), kind: 'tool', tool: described.tool, arguments: described.arguments, principal, agent, traceId };
    await deps.pipeline.authorize(call, { deny: [reason] });
    return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  await deps.pipeline.recordAlert({ type: reason, severity: 'medium', principal, detail: { code, method: req.method ?? 'GET', path } });
}

/** True when the request may go on; false once the refusal is recorded and answered. */
export async function admitSession(
  deps: SessionCheckDeps,
  req: IncomingMessage,
  res: ServerResponse,
  principal: Principal,
  challenge: string,
): Promise<boolean> {
  const { tier } = deps.deriveAgent(principal, { name: 'unknown' }).agent;
  try {
    await deps.sessions.check(principal, tier);
    await deps.sessions.touch(principal, tier);
  } catch (err) {
    const reason = isCustosError(err) ? REASONS[err.code] : undefined;
    if (!reason || !isCustosError(err)) throw err instanceof CustosError ? err : new CustosError('ERR_INTERNAL', undefined, { cause: err });
    deps.logger.warn({ sub: principal.sub, reason }, 'request refused: session not active');
    if (reason === DENY_REASONS.SESSION_STORE_UNAVAILABLE) {
      // Often the trail's database too (one PostgreSQL): the refusal is recorded when it can be, and answered either way.
      await recordRefusal(deps, req, principal, err.code, reason).catch((e: unknown) => deps.logger.warn({ err: e }, 'the refusal could not be recorded'));
      sendError(res, err, deps.logger);
      return false;
    }
    await recordRefusal(deps, req, principal, err.code, reason);
    sendError(res, err, deps.logger, { 'www-authenticate': challenge });
    return false;
  }
  return true;
}
