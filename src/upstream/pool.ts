/**
 * The MCP servers behind the gateway: one SDK Client per configured upstream (stdio or
 * Streamable HTTP), each with a tool cache kept fresh on notifications/tools/list_changed.
 * An upstream that fails to start or dies is reported (status, log, a status_changed event)
 * and restarted with exponential backoff; while it is down its tools are absent and a call
 * to it is ERR_GATEWAY_UPSTREAM_UNAVAILABLE. Server-to-client requests (elicitation,
 * sampling) are relayed to the one agent session with calls in flight to that upstream.
 * An upstream with `isolation: 'session'` also gets one connection per agent session
 * (session-connections.ts) for the calls that carry a relay; its catalogue, subscriptions
 * and logs still come from the shared connection.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../kernel/index.js';
import type {
  Logger,
  UpstreamCallOptions,
  UpstreamConfig,
  UpstreamEvent,
  UpstreamListKind,
  UpstreamPool,
  UpstreamStatus,
  UpstreamTokenIssuer,
  UpstreamTool,
} from '../kernel/index.js';
import { connectUpstreamClient, createUpstreamClient } from './client.js';
import { createRelayRouter, errorName, fetchAllPages, sendUpstreamRequest } from './requests.js';
import type { RequestTarget, Upstream } from './requests.js';
import { DEFAULT_MAX_SESSIONS, createSessionConnections } from './session-connections.js';
import { withUser } from './user-identity.js';

export interface UpstreamPoolOptions {
  readonly logger: Logger;
  /** How long connecting (initialize + first tools/list) may take (default 30 s). */
  readonly connectTimeoutMs?: number;
  /** How long one forwarded request may take without progress (default 10 min: elicitations wait for a person). */
  readonly requestTimeoutMs?: number;
  /** First restart delay after a failure (default 500 ms); doubles per failed attempt. */
  readonly restartBaseMs?: number;
  /** Longest restart delay (default 30 s). */
  readonly restartMaxMs?: number;
  /** Issues the user's token for HTTP upstreams with `identity` (src/app wires identity's). */
  readonly tokens?: UpstreamTokenIssuer;
}

const CAPABILITY_OF: Record<UpstreamListKind, 'resources' | 'prompts'> = { resources: 'resources', resourceTemplates: 'resources', prompts: 'prompts' };

/** Connects every upstream (configs as the config schema validated them: unique names, exactly one of command or url). */
export async function createUpstreamPool(configs: readonly UpstreamConfig[], options: UpstreamPoolOptions): Promise<UpstreamPool> {
  const { logger } = options;
  const timeout = options.connectTimeoutMs ?? 30_000;
  const requestTimeout = options.requestTimeoutMs ?? 10 * 60_000;
  const restartBase = options.restartBaseMs ?? 500;
  const restartMax = options.restartMaxMs ?? 30_000;
  const upstreams = new Map<string, Upstream>(
    configs.map((config) => [config.name, { config, transport: config.url ? 'http' : 'stdio', state: 'connecting', tools: [], restarts: 0, attempt: 0 }]),
  );
  const toolListeners = new Set<() => void>();
  const eventListeners = new Set<(event: UpstreamEvent) => void>();
  const router = createRelayRouter(logger);
  let logLevel: LoggingLevel | undefined;
  let closing = false;

  function emit(event: UpstreamEvent): void {
    const listeners =
      event.type === 'tools_changed' ? [...toolListeners, ...[...eventListeners].map((l) => () => l(event))] : [...eventListeners].map((l) => () => l(event));
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        logger.warn({ err: errorName(err) }, 'upstream event listener failed');
      }
    }
  }

  const perSession = createSessionConnections({ logger, connectTimeoutMs: timeout, onEvent: emit, tokens: options.tokens });

  /** Refreshes one upstream's cache; concurrent requests collapse into one more round. */
  function refreshTools(u: Upstream): Promise<void> {
    if (u.refreshing) {
      u.refreshAgain = true;
      return u.refreshing;
    }
    u.refreshing = (async () => {
      do {
        u.refreshAgain = false;
        const client = u.client;
        if (!client) return;
        try {
          u.tools = await fetchAllPages((cursor) => client.listTools(cursor ? { cursor } : undefined, { timeout }), 'tools');
        } catch (err) {
          logger.warn({ upstream: u.config.name, err: errorName(err) }, 'upstream tools/list failed; keeping the previous tool list');
        }
      } while (u.refreshAgain);
    })().finally(() => {
      u.refreshing = undefined;
    });
    return u.refreshing;
  }

  function markFailed(u: Upstream, code: string): void {
    u.state = 'failed';
    u.error = code;
    u.tools = [];
    u.client = undefined;
    emit({ type: 'tools_changed', server: u.config.name });
    emit({ type: 'status_changed', server: u.config.name });
    scheduleRestart(u);
  }

  function scheduleRestart(u: Upstream): void {
    if (closing || u.timer) return;
    const delay = Math.min(restartMax, restartBase * 2 ** Math.min(u.attempt, 20));
    u.attempt++;
    u.nextRetryAt = new Date(Date.now() + delay).toISOString();
    logger.warn({ upstream: u.config.name, attempt: u.attempt, delayMs: delay }, 'upstream down; restart scheduled');
    u.timer = setTimeout(() => {
      u.timer = undefined;
      u.nextRetryAt = undefined;
      if (closing) return;
      u.restarts++;
      logger.warn({ upstream: u.config.name, restart: u.restarts }, 'restarting upstream');
      void connectUpstream(u);
    }, delay);
    u.timer.unref();
  }

  async function connectUpstream(u: Upstream): Promise<void> {
    const server = u.config.name;
    const client: Client = createUpstreamClient(server, {
      onEvent: emit,
      onToolsChanged: async () => {
        await refreshTools(u);
        emit({ type: 'tools_changed', server });
      },
      elicit: (params, signal) => router.route(server, (relay) => relay.elicit(server, params, signal)),
      sample: (params, signal) => router.route(server, (relay) => relay.sample(server, params, signal)),
    });
    client.onclose = () => {
      if (closing || u.client !== client) return;
      logger.error({ upstream: server }, 'upstream connection closed');
      markFailed(u, 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    };
    try {
      await connectUpstreamClient(client, u.config, { logger, timeoutMs: timeout, tokens: options.tokens });
      if (closing) return void (await client.close());
      u.client = client;
      await refreshTools(u);
      if (logLevel && client.getServerCapabilities()?.logging) await client.setLoggingLevel(logLevel, { timeout });
      u.state = 'ready';
      u.error = undefined;
      u.attempt = 0;
      logger.info({ upstream: server, tools: u.tools.length, restarts: u.restarts }, 'upstream ready');
      if (u.restarts > 0) emit({ type: 'tools_changed', server });
      emit({ type: 'status_changed', server });
    } catch (err) {
      u.client = undefined;
      logger.error({ upstream: server, err: err instanceof Error ? err.message : String(err) }, 'upstream failed to start');
      markFailed(u, 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    }
  }

  function readyClient(server: string): { u: Upstream; client: Client } {
    const u = upstreams.get(server);
    const client = u?.client;
    if (!u || u.state !== 'ready' || !client) throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    return { u, client };
  }

  /** The shared connection, or (isolation 'session', a call with a relay) that agent session's own one. */
  async function targetFor(server: string, opts: UpstreamCallOptions | undefined): Promise<RequestTarget> {
    const { u, client } = readyClient(server);
    if (u.config.isolation !== 'session' || !opts?.relay) return { u, client, router, logger, requestTimeout };
    const own = await perSession.acquire(u, opts.relay.session);
    return { u, client: own.client, router: own.router, logger, requestTimeout };
  }

  await Promise.all([...upstreams.values()].map(connectUpstream));

  return {
    listTools: (): UpstreamTool[] =>
      [...upstreams.values()].filter((u) => u.state === 'ready').flatMap((u) => u.tools.map((tool) => ({ server: u.config.name, tool }))),
    has: (server) => upstreams.has(server),
    // Only an upstream with `identity` reads the user's context: entering it for the others would switch on Node 20's
    // promise hooks (AsyncLocalStorage) for the whole process, and every promise would pay for them.
    callTool: (server, name, args, opts) =>
      withUser(upstreams.get(server)?.config.identity && opts?.user, async () =>
        sendUpstreamRequest(await targetFor(server, opts), 'tools/call', { name, arguments: args }, opts),
      ),
    request: async (server, method, params, opts) => sendUpstreamRequest(await targetFor(server, opts), method, params, opts),
    releaseSession: (session) => perSession.release(session),
    async listAll(kind) {
      const ready = [...upstreams.values()].filter((u) => u.state === 'ready' && u.client?.getServerCapabilities()?.[CAPABILITY_OF[kind]]);
      const lists = await Promise.all(
        ready.map(async (u) => {
          try {
            const items = await fetchAllPages<Record<string, unknown>>((cursor) => listPage(u.client as Client, kind, cursor, timeout), kind);
            return items.map((item) => ({ server: u.config.name, item }));
          } catch (err) {
            logger.warn({ upstream: u.config.name, list: kind, err: errorName(err) }, 'upstream list failed; skipped');
            return [];
          }
        }),
      );
      return lists.flat();
    },
    async setLoggingLevel(level) {
      logLevel = level;
      const ready = [...upstreams.values()].filter((u) => u.state === 'ready' && u.client?.getServerCapabilities()?.logging);
      await Promise.allSettled(ready.map((u) => u.client?.setLoggingLevel(level, { timeout })));
    },
    status: (): UpstreamStatus[] =>
      [...upstreams.values()].map((u) => ({
        name: u.config.name,
        transport: u.transport,
        state: u.state,
        tools: u.tools.length,
        ...(u.error ? { error: u.error } : {}),
        ...(u.restarts > 0 ? { restarts: u.restarts } : {}),
        ...(u.nextRetryAt ? { nextRetryAt: u.nextRetryAt } : {}),
        ...serverInfoOf(u.client),
        ...(u.config.isolation === 'session' ? { sessions: { open: perSession.count(u.config.name), max: u.config.maxSessions ?? DEFAULT_MAX_SESSIONS } } : {}),
      })),
    onToolsChanged(listener) {
      toolListeners.add(listener);
      return () => toolListeners.delete(listener);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    async close() {
      closing = true;
      const clients = [...upstreams.values()].map((u) => {
        if (u.timer) clearTimeout(u.timer);
        u.state = 'closed';
        const c = u.client;
        u.client = undefined;
        return c?.close();
      });
      await Promise.allSettled([...clients, perSession.close()]);
    },
  };
}

/** MCP `serverInfo` of a connected upstream (name and version). */
function serverInfoOf(client: Client | undefined): { server?: { name: string; version: string } } {
  const info = client?.getServerVersion();
  return info ? { server: { name: info.name, version: info.version } } : {};
}

function listPage(
  client: Client,
  kind: UpstreamListKind,
  cursor: string | undefined,
  timeout: number,
): Promise<{ nextCursor?: string } & Record<string, unknown>> {
  const params = cursor ? { cursor } : undefined;
  if (kind === 'resources') return client.listResources(params, { timeout });
  if (kind === 'resourceTemplates') return client.listResourceTemplates(params, { timeout });
  return client.listPrompts(params, { timeout });
}
