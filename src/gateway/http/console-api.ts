/**
 * The web console (issue 17), served by Custos:
 *   GET /console/…                 the built web app (static files; `index.html` for /console/), strict CSP
 *   GET /console/config.json       what the browser needs to sign in (issuer, client id, scope, resource)
 *   GET /v1/console/me             the caller's console roles (`admin`, `security`, `auditor`)
 *   GET /v1/policy                 the bundle in force and its hash, the shadow one, history with authors and
 *                                  approvers, shadow-mode disagreements
 *   GET /v1/policy/versions        every activated bundle version kept (policy.stateDir/bundles/HASH)
 *   GET /v1/policy/diff?from=H&to=H the text diff, file by file, between two kept versions
 *   GET /v1/confirmations/pending  confirmations waiting for a human now: decision-API holds of every replica (the shared
 *                                  store), MCP prompts of this replica (each lives with the stream that asks it)
 *   GET /v1/live?minutes=N         the live view's aggregates (1–1440 minutes, default 60)
 *   GET /v1/audit/verify?seq=N     one row's verification: chain, checkpoint, inclusion proof
 * The /v1 reads need a console role; a refusal is an `admin` row `console_read_refused` and a 403.
 * The console's actions are the existing routes (alerts, inventory, kill switches, reviews), each
 * enforcing its own roles server-side.
 */
import { readFile, realpath } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { CustosError } from '../../kernel/index.js';
import type { Pipeline, Principal } from '../../kernel/index.js';
import type { Authenticator } from '../shared/auth.js';
import { parseTraceparent, sendJson } from '../shared/io.js';
import type { ConsolePort } from '../types.js';
import { holdsRole } from './admin-sessions.js';
import type { PendingConfirmation } from '../confirmations-pending.js';

export const CONSOLE_PREFIX = '/console';
type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Where the pending confirmations listed come from, by channel. */
const PENDING_SCOPE = { api: 'all_replicas', mcp_elicitation: 'replica' } as const;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};

/** No inline script or style, nothing from a third party: the app's own origin, and the issuer for the token exchange. */
export function consoleCsp(issuer: string): string {
  const idp = issuer ? ` ${new URL(issuer).origin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${idp}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function consoleRoles(principal: Principal, port: ConsolePort): string[] {
  return (['admin', 'security', 'auditor'] as const).filter((role) => holdsRole(principal, port.roles[role]));
}

export function createConsoleRoutes(deps: {
  auth: Authenticator;
  pipeline: Pipeline;
  port: ConsolePort;
  /** The confirmations pending in this process (src/gateway/confirmations-pending.ts). */
  pendingConfirmations?: () => Promise<readonly PendingConfirmation[]>;
}): { routes: Array<[string, Route]>; files: Route } {
  const { port } = deps;
  const csp = consoleCsp(port.client.issuer);
  const headers = {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };

  /** A console reader, or a recorded refusal. */
  async function reader(req: IncomingMessage, res: ServerResponse, view: string): Promise<Principal | undefined> {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return undefined;
    if (consoleRoles(principal, port).length > 0) return principal;
    await deps.pipeline.recordAdmin({
      action: 'console_read_refused',
      principal,
      decision: 'deny',
      traceId: parseTraceparent(req.headers.traceparent),
      detail: { view, code: 'ERR_IDENTITY_NOT_ENTITLED' },
    });
    throw new CustosError('ERR_IDENTITY_NOT_ENTITLED', 'The console needs a console role (console.roles).');
  }

  const intParam = (req: IncomingMessage, name: string, min: number, max: number, fallback?: number): number => {
    const raw = new URL(req.url ?? '/', 'http://x').searchParams.get(name);
    const value = raw === null ? fallback : Number(raw);
    if (value === undefined || !Number.isInteger(value) || value < min || value > max)
      throw new CustosError('ERR_GATEWAY_BAD_REQUEST', `query parameter ${name} must be an integer from ${min} to ${max}`);
    return value;
  };

  const routes: Array<[string, Route]> = [
    [`GET ${CONSOLE_PREFIX}/config.json`, async (_req, res) => sendJson(res, 200, port.client, { 'cache-control': 'no-store' })],
    [
      'GET /v1/console/me',
      async (req, res) => {
        const p = await reader(req, res, 'me');
        if (p) sendJson(res, 200, { sub: p.sub, email: p.email ?? null, roles: consoleRoles(p, port) });
      },
    ],
    [
      'GET /v1/policy',
      async (req, res) => {
        if (await reader(req, res, 'policy')) sendJson(res, 200, await port.policy());
      },
    ],
    ['GET /v1/policy/versions', async (req, res) => void ((await reader(req, res, 'policy_versions')) && sendJson(res, 200, await port.policyVersions()))],
    [
      'GET /v1/policy/diff',
      async (req, res) => {
        if (!(await reader(req, res, 'policy_diff'))) return;
        const params = new URL(req.url ?? '/', 'http://x').searchParams;
        const [from, to] = [params.get('from'), params.get('to')];
        if (!from || !to) throw new CustosError('ERR_GATEWAY_BAD_REQUEST', 'give the two versions to compare: from=HASH&to=HASH');
        sendJson(res, 200, await port.policyDiff(from, to));
      },
    ],
    [
      'GET /v1/confirmations/pending',
      async (req, res) => {
        if (await reader(req, res, 'confirmations_pending'))
          sendJson(res, 200, { scope: PENDING_SCOPE, pending: (await deps.pendingConfirmations?.()) ?? [] }, { 'cache-control': 'no-store' });
      },
    ],
    [
      'GET /v1/live',
      async (req, res) => {
        if (!(await reader(req, res, 'live'))) return;
        sendJson(res, 200, await port.live(intParam(req, 'minutes', 1, 1440, 60)));
      },
    ],
    [
      'GET /v1/audit/verify',
      async (req, res) => {
        if (!(await reader(req, res, 'verify'))) return;
        sendJson(res, 200, await port.verifyRow(intParam(req, 'seq', 1, Number.MAX_SAFE_INTEGER)));
      },
    ],
  ];

  /** GET /console and below: a file of the built app, never outside its folder. */
  const files: Route = async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new CustosError('ERR_GATEWAY_NOT_FOUND');
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (pathname === CONSOLE_PREFIX) {
      res.writeHead(308, { location: `${CONSOLE_PREFIX}/`, ...headers }).end();
      return;
    }
    const rel = pathname.slice(CONSOLE_PREFIX.length + 1) || 'index.html';
    const root = path.resolve(port.staticDir);
    const file = path.resolve(root, rel);
    let real: string;
    try {
      real = await realpath(file);
    } catch {
      throw new CustosError('ERR_GATEWAY_NOT_FOUND', rel === 'index.html' ? 'The console is not built (npm run build).' : undefined);
    }
    if (!real.startsWith(`${await realpath(root)}${path.sep}`)) throw new CustosError('ERR_GATEWAY_NOT_FOUND');
    const body = await readFile(real).catch(() => {
      throw new CustosError('ERR_GATEWAY_NOT_FOUND');
    });
    const immutable = rel.startsWith('assets/');
    res
      .writeHead(200, {
        'content-type': CONTENT_TYPES[path.extname(real)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        ...headers,
      })
      .end(req.method === 'HEAD' ? undefined : body);
  };

  return { routes, files };
}
