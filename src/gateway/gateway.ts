/**
 * createGateway: the HTTP handler of every front door (MCP at /mcp, the decision API at
 * /v1/*, probes and RFC 9728 metadata). It sees kernel ports only; src/app wires adapters.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CustosError, DEFAULT_INPUT_LIMITS } from '../kernel/index.js';
import type { Clock, IdSource } from '../kernel/index.js';
import { createAdminSessionsRoute } from './http/admin-sessions.js';
import { createAuditApi } from './http/audit-api.js';
import { createAuthenticator } from './shared/auth.js';
import { createDecisionApi } from './http/decision-api.js';
import { createEmergencyApi } from './http/emergency-api.js';
import { createFloodGuard } from './shared/flood-guard.js';
import { checkReadiness } from './http/health.js';
import { DEFAULT_MAX_BODY_BYTES, sendError, sendJson } from './shared/io.js';
import { createPendingStore } from './http/pending-store.js';
import { API_CONFIRMATION_CHANNEL } from './http/confirmation-api.js';
import { createPromptRegistry, pendingView } from './confirmations-pending.js';
import { createBackchannelLogoutRoute } from './http/session-logout.js';
import { buildProtectedResourceMetadata, protectedResourceMetadataUrl, protectedResourcePaths } from './http/protected-resource.js';
import { createGrantRoutes } from './http/oauth-grants.js';
import { createFailOpenRoutes } from './http/failopen-api.js';
import { createOAuthRoutes } from './http/oauth-token.js';
import { LLM_PREFIX, createLlmDoor } from './llm/llm-door.js';
import { createMonitorRoutes } from './http/monitor-api.js';
import { createEvidenceRoutes } from './http/evidence-api.js';
import { CONSOLE_PREFIX, createConsoleRoutes } from './http/console-api.js';
import { createMcpEndpoint } from './mcp/mcp-endpoint.js';
import { createSessionHub } from './mcp/session-hub.js';
import type { GatewayDeps } from './types.js';

export interface Gateway {
  /** A node:http request listener; never throws. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  /** Closes every MCP session and writes the pending auth-failure counts (upstreams belong to the caller and stay open). */
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

const SYSTEM_IDS: IdSource = { newId: () => randomUUID() };
const SYSTEM_CLOCK: Clock = { now: () => new Date() };

export function createGateway(deps: GatewayDeps): Gateway {
  const mcpPath = new URL(deps.resourceUrl).pathname;
  const ids = deps.ids ?? SYSTEM_IDS;
  const clock = deps.clock ?? SYSTEM_CLOCK;
  const limits = deps.limits ?? {};
  const maxBodyBytes = limits.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const inputLimits = limits.input ?? DEFAULT_INPUT_LIMITS;
  const guard = createFloodGuard({
    pipeline: deps.pipeline,
    logger: deps.logger,
    settings: limits.authFailures,
    trustedProxies: deps.trustedProxies,
    now: () => clock.now().getTime(),
  });
  const sweep = setInterval(() => void guard.flushDue(), Math.min(limits.authFailures?.windowMs ?? 60_000, 1000));
  sweep.unref();
  const auth = createAuthenticator({
    ...deps,
    ids,
    maxBodyBytes,
    guard,
    sessions: deps.identity?.sessions,
    resourceMetadataUrl: protectedResourceMetadataUrl(deps.resourceUrl),
  });
  const prompts = createPromptRegistry(() => clock.now());
  const hub = createSessionHub({ ...deps, ids, confirmationTimeoutMs: limits.confirmationTimeoutMs, prompts });
  const mcp = createMcpEndpoint({
    auth,
    pipeline: deps.pipeline,
    createServer: hub.createServer,
    stateOf: hub.stateOf,
    toolCallOf: hub.toolCallOf,
    sessionStore: deps.identity?.mcpSessions,
    releaseServer: hub.release,
    logger: deps.logger,
    clock,
    maxBodyBytes,
    inputLimits,
    deriveAgent: deps.deriveAgent,
    ids,
    maxSessions: limits.maxSessions ?? 1000,
    sessionIdleMs: limits.sessionIdleMs ?? 30 * 60_000,
    revocations: deps.identity?.revocations,
  });
  const unsubscribe = deps.upstreams.onToolsChanged(() => mcp.notifyToolsChanged());
  const pending = createPendingStore({ ttlMs: limits.pendingTtlMs ?? 10 * 60_000, maxEntries: limits.maxPending ?? 10_000, clock, store: deps.pendingStore });
  const api = createDecisionApi({ ...deps, auth, pending, ids, maxBodyBytes, inputLimits });
  const llm = deps.models ? createLlmDoor({ ...deps, models: deps.models, auth, ids, maxBodyBytes, inputLimits }) : undefined;
  /** Confirmations pending: this replica's MCP prompts, and the decision API's holds of every replica (the shared store). */
  const pendingConfirmations = async () => [
    ...prompts.list(),
    ...(await pending.entries())
      .filter(([, e]) => e.authorization.decision.decision === 'confirm')
      .map(([, e]) => pendingView(e.authorization, API_CONFIRMATION_CHANNEL, new Date(e.authorization.record.time), new Date(e.expiresAt))),
  ];
  const consoleApp = deps.console ? createConsoleRoutes({ auth, pipeline: deps.pipeline, port: deps.console, pendingConfirmations }) : undefined;
  const metadata = buildProtectedResourceMetadata(deps.resourceUrl, deps.authorizationServers, deps.scopesSupported ?? ['openid']);

  const routes = new Map<string, Route>([
    ['POST /v1/authorize', api.authorize],
    ['POST /v1/results', api.results],
    ['POST /v1/confirmations', api.confirmations],
    ['GET /healthz', (_req, res) => sendJson(res, 200, { status: 'ok' })],
    [
      'GET /readyz',
      async (_req, res) => {
        const readiness = await checkReadiness(deps.readiness, deps.policy, deps.upstreams);
        sendJson(res, readiness.status === 'ready' ? 200 : 503, readiness);
      },
    ],
    ...identityRoutes(),
    ...auditRoutes(),
    ...(consoleApp?.routes ?? []),
    ...(deps.monitor ? createMonitorRoutes({ auth, pipeline: deps.pipeline, monitor: deps.monitor, maxBodyBytes }) : []),
    ...(deps.evidence ? createEvidenceRoutes({ auth, pipeline: deps.pipeline, evidence: deps.evidence, maxBodyBytes }) : []),
    ...(deps.tokens
      ? [...createOAuthRoutes({ tokens: deps.tokens, logger: deps.logger, guard }), ...createGrantRoutes({ auth, tokens: deps.tokens, maxBodyBytes })]
      : []),
    ...(deps.journal
      ? createFailOpenRoutes({ auth, journal: deps.journal, pipeline: deps.pipeline, policy: deps.policy, deriveAgent: deps.deriveAgent, maxBodyBytes })
      : []),
    ...protectedResourcePaths(deps.resourceUrl).map((p): [string, Route] => [
      `GET ${p}`,
      (_req, res) => sendJson(res, 200, metadata, { 'access-control-allow-origin': '*' }),
    ]),
  ]);

  /** Sessions, back-channel logout and break-glass, when identity provides them. */
  function identityRoutes(): Array<[string, Route]> {
    const identity = deps.identity ?? {};
    const out: Array<[string, Route]> = [];
    if (identity.admin)
      out.push(['POST /v1/admin/sessions/revoke', createAdminSessionsRoute({ auth, pipeline: deps.pipeline, admin: identity.admin, maxBodyBytes })]);
    if (identity.logout)
      out.push([
        'POST /oauth/backchannel-logout',
        createBackchannelLogoutRoute({ logout: identity.logout, pipeline: deps.pipeline, maxBodyBytes, guard, logger: deps.logger }),
      ]);
    if (identity.emergency) {
      const readers = deps.console ? Object.values(deps.console.roles).flat() : []; // the console's readers see the review queue
      const adminRoles = [...(identity.admin?.roles ?? []), ...readers];
      const e = createEmergencyApi({ auth, pipeline: deps.pipeline, emergency: identity.emergency, adminRoles, maxBodyBytes });
      out.push(['POST /v1/emergency/grants', e.open], ['GET /v1/emergency/reviews', e.reviews], ['POST /v1/emergency/reviews/close', e.close]);
    }
    return out;
  }

  /** Search of the trail, when the app provides it. */
  function auditRoutes(): Array<[string, Route]> {
    if (!deps.auditSearch) return [];
    const a = createAuditApi({ auth, pipeline: deps.pipeline, search: deps.auditSearch });
    return [
      ['GET /v1/audit', a.search],
      ['GET /v1/audit/disclosures', a.disclosures],
    ];
  }

  function route(req: IncomingMessage): Route | undefined {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === mcpPath) return mcp.handle;
    if (llm && path.startsWith(LLM_PREFIX)) return llm.handle;
    const exact = routes.get(`${req.method ?? 'GET'} ${path}`);
    if (!exact && consoleApp && (path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`))) return consoleApp.files;
    return exact;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const target = route(req);
      if (!target) throw new CustosError('ERR_GATEWAY_NOT_FOUND');
      await target(req, res);
    } catch (err) {
      sendError(res, err, deps.logger);
    }
  }

  return {
    handler(req, res) {
      void handle(req, res);
    },
    async close() {
      unsubscribe();
      clearInterval(sweep);
      hub.close();
      await mcp.close();
      await guard.close(); // the aggregated auth failures: nothing is lost at shutdown
    },
  };
}
