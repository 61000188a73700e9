/**
 * Per-session upstream connections (`isolation: 'session'`): each agent MCP session gets
 * its own connection to such an upstream (stdio: its own child process; HTTP: its own MCP
 * session), opened lazily on the session's first call there and closed when the agent
 * session is released. A server-to-client request (elicitation, sampling) arriving on one
 * of them belongs to exactly that agent session: its own relay router sees only that
 * session's calls, so nothing is guessed. Past `maxSessions` connections to one upstream a
 * new session's call is refused with ERR_GATEWAY_SESSION_LIMIT (fail closed). Log messages
 * from these connections are emitted tagged with their session (delivered to it alone); list
 * changes and resource updates are dropped: the catalogue and subscriptions live on the
 * shared connection.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CustosError } from '../kernel/index.js';
import type { Logger, UpstreamEvent, UpstreamTokenIssuer } from '../kernel/index.js';
import { connectUpstreamClient, createUpstreamClient } from './client.js';
import { createRelayRouter, errorName } from './requests.js';
import type { RelayRouter, Upstream } from './requests.js';

export const DEFAULT_MAX_SESSIONS = 50;

export interface SessionConnections {
  /** The session's own connection to `u` (opened on first use), or ERR_GATEWAY_SESSION_LIMIT / ERR_GATEWAY_UPSTREAM_UNAVAILABLE. */
  acquire(u: Upstream, session: string): Promise<{ client: Client; router: RelayRouter }>;
  /** Closes every connection of that agent session. */
  release(session: string): Promise<void>;
  /** Open (or opening) connections to `server`. */
  count(server: string): number;
  close(): Promise<void>;
}

interface SessionConnection {
  readonly client: Client;
  readonly router: RelayRouter;
  ready: Promise<Client>;
}

export interface SessionConnectionsOptions {
  readonly logger: Logger;
  readonly connectTimeoutMs: number;
  readonly tokens?: UpstreamTokenIssuer;
  /** Receives the log messages of per-session connections, tagged with their session. */
  readonly onEvent?: (event: UpstreamEvent) => void;
}

export function createSessionConnections(options: SessionConnectionsOptions): SessionConnections {
  const { logger } = options;
  const byServer = new Map<string, Map<string, SessionConnection>>();
  let closing = false;

  function forget(server: string, session: string, conn: SessionConnection): boolean {
    const conns = byServer.get(server);
    if (conns?.get(session) !== conn) return false;
    conns.delete(session);
    return true;
  }

  function open(u: Upstream, session: string, conns: Map<string, SessionConnection>): SessionConnection {
    const server = u.config.name;
    const router = createRelayRouter(logger);
    const client = createUpstreamClient(server, {
      onEvent: (event) => {
        if (event.type === 'log') options.onEvent?.({ ...event, session });
      },
      onToolsChanged: async () => undefined,
      elicit: (params, signal) => router.route(server, (relay) => relay.elicit(server, params, signal)),
      sample: (params, signal) => router.route(server, (relay) => relay.sample(server, params, signal)),
    });
    const conn: SessionConnection = { client, router, ready: Promise.resolve(client) };
    conn.ready = (async () => {
      try {
        await connectUpstreamClient(client, u.config, { logger, timeoutMs: options.connectTimeoutMs, tokens: options.tokens });
      } catch (err) {
        forget(server, session, conn);
        logger.error({ upstream: server, session, err: errorName(err) }, 'per-session upstream connection failed to start');
        throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE', undefined, { cause: err });
      }
      if (closing) {
        await client.close().catch(() => undefined);
        throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
      }
      logger.info({ upstream: server, session, open: conns.size }, 'per-session upstream connection opened');
      return client;
    })();
    conn.ready.catch(() => undefined);
    client.onclose = () => {
      if (forget(server, session, conn)) logger.warn({ upstream: server, session }, 'per-session upstream connection closed');
    };
    return conn;
  }

  return {
    async acquire(u, session) {
      if (closing) throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
      const server = u.config.name;
      const conns = byServer.get(server) ?? new Map<string, SessionConnection>();
      byServer.set(server, conns);
      let conn = conns.get(session);
      if (!conn) {
        const max = u.config.maxSessions ?? DEFAULT_MAX_SESSIONS;
        if (conns.size >= max) {
          logger.warn({ upstream: server, session, maxSessions: max }, 'per-session upstream connection limit reached; call refused');
          throw new CustosError('ERR_GATEWAY_SESSION_LIMIT', 'Too many agent sessions hold their own connection to this upstream; retry later.');
        }
        conn = open(u, session, conns);
        conns.set(session, conn);
      }
      return { client: await conn.ready, router: conn.router };
    },
    async release(session) {
      const closes: Array<Promise<void>> = [];
      for (const [server, conns] of byServer) {
        const conn = conns.get(session);
        if (!conn || !forget(server, session, conn)) continue;
        logger.info({ upstream: server, session }, 'per-session upstream connection closed (session ended)');
        closes.push(
          conn.ready.then(
            (c) => c.close(),
            () => undefined,
          ),
        );
      }
      await Promise.allSettled(closes);
    },
    count: (server) => byServer.get(server)?.size ?? 0,
    async close() {
      closing = true;
      const all = [...byServer.values()].flatMap((conns) => [...conns.values()]);
      byServer.clear();
      await Promise.allSettled(all.map((c) => c.client.close()));
    },
  };
}
