/**
 * The MCP front door at /mcp (Streamable HTTP). Every HTTP request is authenticated
 * before the SDK sees it; each MCP session has its own SDK Server and transport and is
 * bound to the user (sub + iss) that initialized it. Revoking that user, or an IdP session
 * whose tokens it carried, ends it (session-revocation.ts). With a shared session store, a
 * session another replica started is taken over on first sight (session-takeover.ts).
 */
import { runtimeHeadersOf } from '../shared/agent-runtime.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../../kernel/index.js';
import type { Clock, IdSource, InputLimits, McpSessionRecord, McpSessionStore, Pipeline, Principal, Revocation, RevocationFeed } from '../../kernel/index.js';
import { toJsonRpcError } from '../errors.js';
import type { Authenticator } from '../shared/auth.js';
import { readCallBody, shortString } from '../shared/call-body.js';
import type { BodyHint } from '../shared/call-body.js';
import { headerValue, parseTraceparent, sendJson } from '../shared/io.js';
import type { DeriveAgent, Logger } from '../types.js';
import { parseToolName } from '../shared/tool-names.js';
import { SessionTransport, answerPlain, plainToolCall } from './plain-json.js';
import type { RequestContext } from './request-context.js';
import { coveredBy, recordSessionEnded, rememberSid, revocationOf } from './session-revocation.js';
import type { RevocableSession } from './session-revocation.js';
import type { RestoredSessionState } from './session-hub.js';
import type { SessionState, ToolCallHandler } from './session-kit.js';
import { currentRecord, needsWrite, recordOfInitialize, restoreSession } from './session-takeover.js';

export const AGENT_TIER_HEADER = 'x-custos-agent-tier';

export interface McpEndpointDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  /** Makes the SDK Server of session `id` (`restored`: one another replica started). */
  readonly createServer: (id: string, restored?: RestoredSessionState) => Server;
  /** A session Server's state (subscriptions, log level), for the shared store. */
  readonly stateOf?: (server: Server) => SessionState | undefined;
  /** A session Server's `tools/call` handler: a plain call of the usual shape runs it directly (plain-json.ts). */
  readonly toolCallOf?: (server: Server) => ToolCallHandler | undefined;
  /** The shared MCP session store: any replica continues any session it holds. */
  readonly sessionStore?: McpSessionStore;
  /** Called once a session's Server has closed (drops its upstream subscriptions). */
  readonly releaseServer?: (server: Server) => Promise<void>;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly maxBodyBytes: number;
  /** Depth, count and size limits of a request body (checked before the SDK sees it). */
  readonly inputLimits: InputLimits;
  readonly deriveAgent: DeriveAgent;
  readonly ids: IdSource;
  readonly maxSessions: number;
  readonly sessionIdleMs: number;
  /** Revocations: the sessions they cover are ended. */
  readonly revocations?: RevocationFeed;
}

export interface McpEndpoint {
  /** Handles one HTTP request to /mcp; throws CustosErrors for the caller to map. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Tells every session its tool list changed (upstreams changed). */
  notifyToolsChanged(): void;
  sessionCount(): number;
  close(): Promise<void>;
}

interface Session extends RevocableSession {
  readonly server: Server;
  readonly transport: StreamableHTTPServerTransport;
  /** What the session's Server is connected to: the SDK transport plus the plain JSON path. */
  readonly plain: SessionTransport;
  readonly owner: { readonly sub: string; readonly iss: string };
  lastSeen: number;
  /** The session as last written to the shared store. */
  stored: McpSessionRecord;
}

/** The tier the agent declares, as it declares it: anything but the derived tier is a mismatch. */
function readDeclaredTier(req: IncomingMessage): string | undefined {
  const raw = headerValue(req, AGENT_TIER_HEADER);
  return raw === undefined ? undefined : raw.trim().slice(0, 64);
}

/** The first JSON-RPC message of a body (a batch's first), as an object. */
function firstMessage(body: unknown): Record<string, unknown> {
  const m: unknown = Array.isArray(body) ? body[0] : body;
  return typeof m === 'object' && m !== null ? (m as Record<string, unknown>) : {};
}

/** The tool and arguments of a refused tools/call (for its row). */
function describeMessage(body: unknown): BodyHint {
  const m = firstMessage(body);
  const params = (typeof m.params === 'object' && m.params !== null ? m.params : {}) as Record<string, unknown>;
  const name = m.method === 'tools/call' ? shortString(params.name) : undefined;
  if (name === undefined) return {};
  try {
    return { tool: parseToolName(name), arguments: params.arguments };
  } catch {
    return {};
  }
}

/** A JSON-RPC error answer (HTTP 400, as the SDK answers a malformed request) to the body's request. */
function sendRpcError(res: ServerResponse, body: unknown, err: unknown): void {
  const id = firstMessage(body).id;
  const rpc = toJsonRpcError(err);
  sendJson(res, 400, { jsonrpc: '2.0', id: typeof id === 'string' || typeof id === 'number' ? id : null, error: rpc });
}

function isInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

export function createMcpEndpoint(deps: McpEndpointDeps): McpEndpoint {
  const sessions = new Map<string, Session>();
  /** Takeovers under way, so parallel first requests on this replica make one Server. */
  const takingOver = new Map<string, Promise<Session | undefined>>();
  const store = deps.sessionStore;
  /** How often an active session's last-seen time is written to the shared store. */
  const refreshMs = Math.min(60_000, deps.sessionIdleMs / 4);
  let starting = 0;
  const now = (): number => deps.clock.now().getTime();
  const sweeper = setInterval(() => void closeIdleSessions(), Math.min(deps.sessionIdleMs, 60_000));
  sweeper.unref();
  const unsubscribe = deps.revocations?.onRevoked((r) => void endRevoked(r));

  function authInfoFor(principal: Principal, req: IncomingMessage): AuthInfo & { readonly extra: { custos: RequestContext } } {
    const context: RequestContext = {
      principal,
      declaredTier: readDeclaredTier(req),
      traceId: parseTraceparent(req.headers.traceparent),
      runtime: runtimeHeadersOf(req.headers),
    };
    // The raw token stays out of the SDK: handlers get the verified principal instead.
    return { token: '', clientId: principal.clientId ?? '', scopes: [], expiresAt: principal.expiresAt, extra: { custos: context } };
  }

  async function closeIdleSessions(): Promise<void> {
    const cutoff = now() - deps.sessionIdleMs;
    const idle = [...sessions.entries()].filter(([, s]) => s.lastSeen < cutoff);
    for (const [id] of idle) sessions.delete(id);
    await Promise.allSettled(idle.map(([, s]) => s.server.close()));
  }

  /** Forgets the session (its id is 404 from now on), closes its Server and writes its row. */
  async function endSession(id: string, session: Session, r: Revocation): Promise<void> {
    if (sessions.get(id) !== session) return;
    sessions.delete(id);
    await Promise.allSettled([session.server.close(), recordSessionEnded(deps, id, session, r), store?.remove(id)]);
  }

  /** Writes the session to the shared store (when there is one). */
  async function persist(session: Session, record: McpSessionRecord): Promise<void> {
    if (!store) return;
    try {
      await store.put(record, now() - deps.sessionIdleMs);
    } catch {
      throw new CustosError('ERR_GATEWAY_SESSION_STORE_UNAVAILABLE');
    }
    session.stored = record;
  }

  /** After a request: writes what changed (subscriptions, log level, `sid`s) or a stale last-seen time; a failure is logged (the session stays on this replica). */
  function refresh(id: string, session: Session): void {
    if (!store || sessions.get(id) !== session) return;
    const state = deps.stateOf?.(session.server);
    const next = currentRecord(session.stored, {
      lastSeenMs: session.lastSeen,
      sessionIds: session.sessionIds,
      subscriptions: state?.subscriptions,
      logLevel: state?.logLevel,
    });
    if (!needsWrite(session.stored, next, refreshMs)) return;
    persist(session, next).catch(() => deps.logger.warn({ session: id }, 'MCP session state could not be written to the shared store'));
  }

  /** A fresh SDK Server and transport for session `id`, wired to forget the session when the Server closes. */
  function openServer(
    id: string,
    restored?: RestoredSessionState,
    onsessioninitialized?: () => Promise<void>,
  ): Pick<Session, 'server' | 'transport' | 'plain'> {
    const server = deps.createServer(id, restored);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => id, onsessioninitialized });
    const plain = new SessionTransport(transport);
    server.onclose = () => {
      if (sessions.get(id)?.server === server) sessions.delete(id);
      void deps.releaseServer?.(server);
    };
    return { server, transport, plain };
  }

  /** Refuses a caller who is not the session's owner (and raises the alert). */
  async function assertOwner(id: string, owner: Session['owner'], principal: Principal): Promise<void> {
    if (owner.sub === principal.sub && owner.iss === principal.iss) return;
    deps.logger.warn({ session: id, sub: principal.sub }, "MCP session used with another user's token");
    await deps.pipeline.recordAlert({ type: 'session_mismatch', severity: 'high', principal, detail: { session_owner: owner.sub } });
    throw new CustosError('ERR_IDENTITY_SESSION_MISMATCH');
  }

  /** A session another replica started, if the shared store knows it (and it is not idle past the limit). */
  function takeOver(id: string, principal: Principal): Promise<Session | undefined> {
    if (!store) return Promise.resolve(undefined);
    const pending = takingOver.get(id);
    if (pending) return pending;
    const attempt = (async (): Promise<Session | undefined> => {
      const record = await store.get(id).catch(() => {
        throw new CustosError('ERR_GATEWAY_SESSION_STORE_UNAVAILABLE');
      });
      if (!record || record.lastSeenMs < now() - deps.sessionIdleMs) return undefined;
      await assertOwner(id, record.owner, principal); // before anything is made for the caller
      if (sessions.size + starting >= deps.maxSessions) {
        throw new CustosError('ERR_GATEWAY_SESSION_LIMIT', 'Too many open MCP sessions; close one or retry later.');
      }
      const parts = openServer(id, { subscriptions: record.subscriptions, logLevel: record.logLevel as RestoredSessionState['logLevel'] });
      const session: Session = {
        ...parts,
        owner: record.owner,
        principal,
        openedAt: record.openedMs,
        sessionIds: new Set(record.sessionIds),
        lastSeen: now(),
        stored: record,
      };
      try {
        await parts.server.connect(parts.plain);
        await restoreSession(parts.plain, parts.transport, record);
      } catch (err) {
        await parts.server.close().catch(() => undefined);
        throw err;
      }
      sessions.set(id, session);
      deps.logger.info({ session: id, sub: principal.sub }, 'MCP session taken over from the shared store');
      return session;
    })();
    takingOver.set(id, attempt);
    return attempt.finally(() => takingOver.delete(id));
  }

  function endRevoked(r: Revocation): void {
    for (const [id, session] of sessions) if (coveredBy(session, r)) void endSession(id, session, r);
  }

  async function startSession(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse, body: unknown, principal: Principal): Promise<void> {
    await closeIdleSessions();
    if (sessions.size + starting >= deps.maxSessions) {
      throw new CustosError('ERR_GATEWAY_SESSION_LIMIT', 'Too many open MCP sessions; close one or retry later.');
    }
    starting++;
    const id = randomUUID();
    let sessionId: string | undefined;
    const parts = openServer(id, undefined, async () => {
      const opened = now();
      const record = recordOfInitialize(id, principal, body, opened);
      const session: Session = {
        ...parts,
        owner: record.owner,
        principal,
        openedAt: opened,
        sessionIds: new Set(),
        lastSeen: opened,
        stored: record,
      };
      rememberSid(session, principal);
      // Written before the answer leaves, so the client's next request may reach any replica.
      await persist(session, record).catch(() =>
        deps.logger.warn({ session: id }, 'MCP session could not be written to the shared store; it stays on this replica'),
      );
      sessionId = id;
      sessions.set(id, session);
    });
    const { server, transport, plain } = parts;
    try {
      await server.connect(plain);
      await transport.handleRequest(req, res, body);
    } finally {
      starting--;
      if (sessionId === undefined) await server.close().catch(() => undefined);
    }
    if (sessionId !== undefined) deps.logger.info({ session: sessionId, sub: principal.sub }, 'MCP session started');
  }

  async function continueSession(
    req: IncomingMessage & { auth?: AuthInfo },
    res: ServerResponse,
    body: unknown,
    principal: Principal,
    id: string,
  ): Promise<void> {
    const session = sessions.get(id) ?? (await takeOver(id, principal));
    if (!session) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No MCP session has this id (expired or closed); initialize a new one.');
    await assertOwner(id, session.owner, principal);
    rememberSid(session, principal);
    const revoked = await revocationOf(deps.revocations, session);
    if (revoked) {
      await endSession(id, session, revoked);
      throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No MCP session has this id (expired or closed); initialize a new one.');
    }
    session.lastSeen = now();
    const plainCall = plainToolCall(req, body, session.server, session.plain);
    if (plainCall) await answerPlain(req, res, plainCall, session.plain, deps.toolCallOf?.(session.server));
    else await session.transport.handleRequest(req, res, body);
    if (req.method === 'DELETE' && sessions.get(id) !== session)
      await store?.remove(id).catch(() => undefined); // closed by its client
    else refresh(id, session);
  }

  async function handle(req: IncomingMessage & { auth?: AuthInfo }, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    if (!['GET', 'POST', 'DELETE'].includes(method)) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'Use POST, GET or DELETE on /mcp.');
    const principal = await deps.auth.authenticate(req, res, { kind: 'tool' });
    if (!principal) return;
    req.auth = authInfoFor(principal, req);
    let body: unknown;
    if (method === 'POST') {
      const read = await readCallBody(deps, req, principal, describeMessage);
      if (!read.ok) {
        if (read.body === undefined) throw read.error;
        return sendRpcError(res, read.body, read.error);
      }
      body = read.body;
    }
    const id = headerValue(req, 'mcp-session-id');
    if (id !== undefined) return continueSession(req, res, body, principal, id);
    if (method === 'POST' && isInitialize(body)) return startSession(req, res, body, principal);
    throw new CustosError('ERR_GATEWAY_BAD_REQUEST', 'An mcp-session-id header is required; send initialize first.');
  }

  return {
    handle,
    notifyToolsChanged() {
      for (const s of sessions.values()) s.server.sendToolListChanged().catch(() => undefined);
    },
    sessionCount: () => sessions.size,
    async close() {
      clearInterval(sweeper);
      unsubscribe?.();
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(all.map((s) => s.server.close()));
    },
  };
}
