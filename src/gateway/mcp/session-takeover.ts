/**
 * Any replica, any session. The SDK's Streamable HTTP transport keeps a session in one
 * process's memory; Custos also keeps what the session is in the shared store (its owner,
 * the negotiated protocol version, the client's info and capabilities, its subscriptions, log
 * level and IdP sessions), so a replica that sees a session id it does not hold, but the
 * store knows, takes the session over: after checking that the caller is the session's
 * owner, it makes a fresh SDK Server and transport, replays the stored `initialize` into the
 * Server (the client's capabilities and info are the Server's own again), marks the transport
 * initialized under the stored id, and re-subscribes its resources upstream.
 *
 * What does not move: a server-to-client request in flight (a confirmation prompt, a relayed
 * elicitation or sampling request) stays with the replica that holds its stream; an answer
 * that reaches another replica is not matched, and the prompt ends as unanswered (denied). A
 * per-session upstream connection (`isolation: session`) is opened again by the replica that
 * takes the session over, on its first call there.
 */
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { InitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../../kernel/index.js';
import type { McpSessionRecord, Principal } from '../../kernel/index.js';
import type { SessionTransport } from './plain-json.js';

/** The initialize request in a body (a batch holds at most one). */
function initializeOf(body: unknown): InitializeRequest | undefined {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  return messages.find((m) => isInitializeRequest(m)) as InitializeRequest | undefined;
}

/** The record of a session being initialized with `body` (an initialize request) by `principal`. */
export function recordOfInitialize(id: string, principal: Principal, body: unknown, nowMs: number): McpSessionRecord {
  const params = initializeOf(body)?.params;
  const requested = params?.protocolVersion ?? LATEST_PROTOCOL_VERSION;
  return {
    id,
    owner: { sub: principal.sub, iss: principal.iss },
    openedMs: nowMs,
    lastSeenMs: nowMs,
    protocolVersion: SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION,
    clientInfo: { name: params?.clientInfo.name ?? 'unknown', version: params?.clientInfo.version ?? '' },
    capabilities: (params?.capabilities ?? {}) as Record<string, unknown>,
    subscriptions: [],
    sessionIds: principal.sessionId === undefined ? [] : [principal.sessionId],
  };
}

/** The part of the SDK transport that says whether, and as which session, it was initialized. */
interface TransportSessionFields {
  _initialized: boolean;
  sessionId?: string;
}

/**
 * Marks a fresh SDK transport initialized as session `id`. The SDK (1.x) offers no public way
 * to continue a session it did not initialize; this sets the two fields its own initialize sets,
 * and refuses (the caller answers 503) if a future SDK no longer has them.
 */
function markInitialized(transport: StreamableHTTPServerTransport, id: string): void {
  const inner = (transport as unknown as { _webStandardTransport?: Partial<TransportSessionFields> })._webStandardTransport;
  if (!inner || typeof inner._initialized !== 'boolean') {
    throw new CustosError('ERR_GATEWAY_SESSION_STORE_UNAVAILABLE', 'This MCP SDK cannot continue a session another replica started.');
  }
  inner._initialized = true;
  inner.sessionId = id;
}

/**
 * Brings a fresh Server (connected to `plain`) and its transport to the stored session: the
 * stored initialize is replayed into the Server (its answer, already given by the replica that
 * started the session, is dropped), then `notifications/initialized`.
 */
export async function restoreSession(plain: SessionTransport, transport: StreamableHTTPServerTransport, record: McpSessionRecord): Promise<void> {
  markInitialized(transport, record.id);
  const answer = await plain.replay({
    jsonrpc: '2.0',
    id: `custos-restore-${record.id}`,
    method: 'initialize',
    params: { protocolVersion: record.protocolVersion, capabilities: record.capabilities, clientInfo: record.clientInfo },
  });
  if ('error' in answer) throw new CustosError('ERR_GATEWAY_SESSION_STORE_UNAVAILABLE', 'The stored MCP session could not be restored.');
  plain.onmessage?.({ jsonrpc: '2.0', method: 'notifications/initialized' });
}

/** The record as the session is now (what the Server's state and the endpoint hold). */
export function currentRecord(
  base: McpSessionRecord,
  now: { lastSeenMs: number; sessionIds: ReadonlySet<string>; subscriptions?: ReadonlySet<string>; logLevel?: string },
): McpSessionRecord {
  const { logLevel: _stored, ...rest } = base;
  return {
    ...rest,
    lastSeenMs: now.lastSeenMs,
    sessionIds: [...now.sessionIds],
    subscriptions: [...(now.subscriptions ?? [])].sort(),
    ...(now.logLevel === undefined ? {} : { logLevel: now.logLevel }),
  };
}

/** True when `next` differs from the stored `prev` in more than its last-seen time, or that is older than `refreshMs`. */
export function needsWrite(prev: McpSessionRecord, next: McpSessionRecord, refreshMs: number): boolean {
  if (next.lastSeenMs - prev.lastSeenMs >= refreshMs) return true;
  const key = (r: McpSessionRecord): string => JSON.stringify([r.subscriptions, r.logLevel ?? null, r.sessionIds]);
  return key(prev) !== key(next);
}
