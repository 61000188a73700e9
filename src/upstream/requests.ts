/**
 * Forwarding one request to a ready upstream, and routing the upstream's server-to-client
 * requests back to the agent session that has calls in flight there. An upstream request
 * carries nothing that names the call it belongs to, so a request is relayed only when one
 * agent session has calls in flight to that upstream; otherwise it is refused (fail closed:
 * an elicitation never reaches the wrong user).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CompleteResultSchema,
  EmptyResultSchema,
  ErrorCode,
  GetPromptResultSchema,
  McpError,
  ReadResourceResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../kernel/index.js';
import { outboundTrace } from './client.js';
import type { ClientRelay, Logger, UpstreamCallOptions, UpstreamConfig, UpstreamMethod, UpstreamState } from '../kernel/index.js';

export interface Upstream {
  readonly config: UpstreamConfig;
  readonly transport: 'stdio' | 'http';
  state: UpstreamState;
  client?: Client;
  tools: Tool[];
  error?: string;
  refreshing?: Promise<void>;
  refreshAgain?: boolean;
  restarts: number;
  attempt: number;
  timer?: NodeJS.Timeout;
  nextRetryAt?: string;
}

export interface RelayRouter {
  /** Records a call in flight for the relay's session; returns the function that ends it. */
  enter(server: string, relay: ClientRelay | undefined): () => void;
  /** Runs `fn` with the one session that has calls in flight to `server`, or refuses. */
  route<T>(server: string, fn: (relay: ClientRelay) => Promise<T>): Promise<T>;
}

export function createRelayRouter(logger: Logger): RelayRouter {
  const inflight = new Map<string, Map<string, { relay: ClientRelay; count: number }>>();
  return {
    enter(server, relay) {
      if (!relay) return () => undefined;
      const sessions = inflight.get(server) ?? new Map<string, { relay: ClientRelay; count: number }>();
      inflight.set(server, sessions);
      const entry = sessions.get(relay.session) ?? { relay, count: 0 };
      entry.count++;
      sessions.set(relay.session, entry);
      return () => {
        entry.count--;
        if (entry.count === 0) sessions.delete(relay.session);
      };
    },
    async route(server, fn) {
      const sessions = [...(inflight.get(server)?.values() ?? [])];
      if (sessions.length !== 1) {
        logger.warn({ upstream: server, sessions: sessions.length }, 'server-to-client request not attributable to one agent session; refused');
        throw new McpError(ErrorCode.InvalidRequest, 'Custos cannot attribute this request to a single agent session.');
      }
      return fn((sessions[0] as { relay: ClientRelay }).relay);
    },
  };
}

const RESULT_SCHEMAS = {
  'resources/read': ReadResourceResultSchema,
  'resources/subscribe': EmptyResultSchema,
  'resources/unsubscribe': EmptyResultSchema,
  'prompts/get': GetPromptResultSchema,
  'completion/complete': CompleteResultSchema,
} as const;

export interface RequestTarget {
  readonly u: Upstream;
  readonly client: Client;
  readonly router: RelayRouter;
  readonly logger: Logger;
  readonly requestTimeout: number;
}

/** Sends tools/call (validated by the SDK against the tool's output schema) or another request; errors become CustosErrors. */
export async function sendUpstreamRequest(
  target: RequestTarget,
  method: UpstreamMethod | 'tools/call',
  params: Record<string, unknown>,
  opts: UpstreamCallOptions = {},
): Promise<Record<string, unknown>> {
  const { u, client } = target;
  const leave = target.router.enter(u.config.name, opts.relay);
  const options = { signal: opts.signal, onprogress: opts.onprogress, timeout: target.requestTimeout, resetTimeoutOnProgress: true };
  const send = (): Promise<Record<string, unknown>> =>
    method === 'tools/call'
      ? client.callTool(params as { name: string; arguments?: Record<string, unknown> }, undefined, options)
      : client.request({ method, params }, RESULT_SCHEMAS[method], options);
  try {
    // The traceparent rides on HTTP upstreams' requests only (a stdio upstream has no headers): no async context for the others.
    return await (opts.traceparent && u.transport === 'http' ? outboundTrace.run(opts.traceparent, send) : send());
  } catch (err) {
    // The user's token for this upstream could not be had: the call was never sent; say why.
    if (err instanceof CustosError && err.code === 'ERR_UPSTREAM_IDENTITY_UNAVAILABLE') throw err;
    const code = u.state === 'ready' ? 'ERR_GATEWAY_UPSTREAM_FAILED' : 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE';
    // The upstream's message may quote arguments or file contents: log only its kind.
    target.logger.warn(
      { upstream: u.config.name, method, name: typeof params.name === 'string' ? params.name : undefined, err: errorName(err) },
      'upstream call failed',
    );
    throw new CustosError(code, undefined, { cause: err });
  } finally {
    leave();
  }
}

const MAX_PAGES = 100;

/** Follows nextCursor (at most 100 pages) and concatenates the `key` arrays. */
export async function fetchAllPages<T>(
  page: (cursor: string | undefined) => Promise<{ nextCursor?: string } & Record<string, unknown>>,
  key: string,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const result = await page(cursor);
    items.push(...((result[key] as T[] | undefined) ?? []));
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return items;
}

/** A loggable description of an error that carries no message text (it may hold payloads). */
export function errorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    const name = (err as { name?: unknown }).name;
    return [typeof name === 'string' ? name : 'Error', code === undefined ? '' : String(code)].filter(Boolean).join(':');
  }
  return typeof err;
}
