/**
 * The sessions' shared view of the upstreams: makes each session's SDK Server, keeps
 * upstream resource subscriptions counted across sessions (subscribe upstream on the first,
 * unsubscribe on the last), asks the upstreams for the most verbose log level any session
 * wants, and fans upstream notifications out: list changes to every session, a resource
 * update only to the sessions subscribed to it, a log message (redacted) only to sessions
 * whose level admits it and whose user the policy lets read `<server>/notifications/message`
 * (and, when it came from a session's own upstream connection, only to that session).
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamEvent } from '../types.js';
import { namespaceResourceUri, parseResourceUri } from './resource-names.js';
import { createSessionServer } from './session-server.js';
import type { SessionServerDeps, SessionState, ToolCallHandler } from './session-kit.js';

/** The pseudo-resource whose `read_resource` decision lets a user receive an upstream's log messages. */
export const LOG_RESOURCE = 'notifications/message';

const SEVERITY: Record<LoggingLevel, number> = { debug: 0, info: 1, notice: 2, warning: 3, error: 4, critical: 5, alert: 6, emergency: 7 };

/** What a session continued from the shared store brings with it (see session-takeover.ts). */
export interface RestoredSessionState {
  readonly subscriptions: readonly string[];
  readonly logLevel?: LoggingLevel;
}

export interface SessionHub {
  /** The SDK Server of the MCP session `id`; `restored`: a session another replica started (its subscriptions are taken up here). */
  createServer(id: string, restored?: RestoredSessionState): Server;
  /** The session's state (subscriptions, log level), for the shared store. */
  stateOf(server: Server): SessionState | undefined;
  /** The session's `tools/call` handler, which the plain JSON path runs without the Server's request machinery. */
  toolCallOf(server: Server): ToolCallHandler | undefined;
  /** Forgets a closed session, drops its upstream subscriptions and closes its per-session upstream connections. */
  release(server: Server): Promise<void>;
  close(): void;
}

interface HubSession {
  readonly state: SessionState;
  readonly mayReceiveLogs: (upstream: string) => Promise<boolean>;
  readonly callTool: ToolCallHandler;
  /** The session's log messages, relayed one after the other (each waits for its decision). */
  logs: Promise<void>;
}

export function createSessionHub(deps: SessionServerDeps): SessionHub {
  const sessions = new Map<Server, HubSession>();
  const counts = new Map<string, number>();

  async function countSubscription(uri: string, subscribed: boolean): Promise<void> {
    const before = counts.get(uri) ?? 0;
    const after = Math.max(0, before + (subscribed ? 1 : -1));
    const target = parseResourceUri(uri);
    if (before === 0 && after === 1) await deps.upstreams.request(target.server, 'resources/subscribe', { uri: target.uri });
    if (before === 1 && after === 0) await deps.upstreams.request(target.server, 'resources/unsubscribe', { uri: target.uri }).catch(() => undefined);
    if (after === 0) counts.delete(uri);
    else counts.set(uri, after);
  }

  async function applyLogLevel(): Promise<void> {
    const levels = [...sessions.values()].map((s) => s.state.logLevel).filter((l): l is LoggingLevel => l !== undefined);
    if (levels.length === 0) return;
    const verbose = levels.reduce((a, b) => (SEVERITY[a] <= SEVERITY[b] ? a : b));
    await deps.upstreams.setLoggingLevel(verbose);
  }

  function relayLog(event: Extract<UpstreamEvent, { type: 'log' }>): void {
    const redacted = redactData(event.data);
    if (redacted === undefined) return; // no protector, or redaction failed: withheld
    for (const [server, session] of sessions) {
      const level = session.state.logLevel;
      if (event.session !== undefined && event.session !== session.state.id) continue; // from another session's own connection
      if (!level || SEVERITY[event.level] < SEVERITY[level]) continue;
      const logger = event.logger ? `${event.server}/${event.logger}` : event.server;
      session.logs = session.logs
        .then(async () => {
          if (await session.mayReceiveLogs(event.server)) await server.sendLoggingMessage({ level: event.level, logger, data: redacted });
        })
        .catch(() => undefined);
    }
  }

  function redactData(data: unknown): unknown {
    try {
      return deps.protector?.redact(data).value;
    } catch {
      return undefined;
    }
  }

  function onEvent(event: UpstreamEvent): void {
    if (event.type === 'log') return relayLog(event);
    for (const [server, session] of sessions) {
      if (event.type === 'resources_changed') server.sendResourceListChanged().catch(() => undefined);
      else if (event.type === 'prompts_changed') server.sendPromptListChanged().catch(() => undefined);
      else if (event.type === 'resource_updated') {
        const uri = namespaceResourceUri(event.server, event.uri);
        if (session.state.subscriptions.has(uri)) server.sendResourceUpdated({ uri }).catch(() => undefined);
      }
    }
  }

  const unsubscribe = deps.upstreams.onEvent(onEvent);

  return {
    createServer(id, restored) {
      const state: SessionState = {
        id,
        subscriptions: new Set(restored?.subscriptions),
        logLevel: restored?.logLevel,
        onSubscribe: countSubscription,
        onLogLevel: applyLogLevel,
      };
      const { server, mayReceiveLogs, callTool } = createSessionServer(deps, state, LOG_RESOURCE);
      sessions.set(server, { state, mayReceiveLogs, callTool, logs: Promise.resolve() });
      if (restored) {
        // Taken over from another replica: this replica's upstreams are asked for what the session had there.
        for (const uri of state.subscriptions)
          countSubscription(uri, true).catch((err: unknown) => deps.logger.warn({ uri, err: String(err) }, 'resubscribe failed'));
        applyLogLevel().catch(() => undefined);
      }
      return server;
    },
    stateOf: (server) => sessions.get(server)?.state,
    toolCallOf: (server) => sessions.get(server)?.callTool,
    async release(server) {
      const session = sessions.get(server);
      if (!session) return;
      sessions.delete(server);
      await Promise.allSettled([
        ...[...session.state.subscriptions].map((uri) => countSubscription(uri, false)),
        deps.upstreams.releaseSession?.(session.state.id),
      ]);
    },
    close: () => unsubscribe(),
  };
}
