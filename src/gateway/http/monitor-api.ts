/**
 * The monitor's admin API (an admin role needed; the monitor port does the work and writes the rows):
 *   GET  /v1/alerts                        open alerts (`?all=1`: acknowledged ones too)
 *   POST /v1/alerts/ack                    `{ "seq", "note" }`: an `alert_acknowledged` row
 *   GET  /v1/inventory                     servers, their tools (hashes, approval, drift diff), agents
 *   POST /v1/inventory/tools/approve       `{ "server", "tool" }`: re-approves a changed tool's current definition
 *   GET  /v1/admin/kill-switches           the switches in force
 *   POST /v1/admin/kill-switches           `{ "target", "reason" }` → 201, a `kill_switch_set` row
 *   POST /v1/admin/kill-switches/lift      `{ "id", "reason" }`, a `kill_switch_lifted` row
 *   GET  /metrics                          Prometheus text (no credential: expose it to the scraper only)
 * A request without the role is refused with an admin row carrying the request's trace id
 * (`monitor_admin_refused` for a change, `monitor_read_refused` for a read). `readRoles` may
 * also read (GET), `ackRoles` may also acknowledge alerts (the console's security role).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Pipeline, Principal } from '../../kernel/index.js';
import type { Authenticator } from '../shared/auth.js';
import { parseTraceparent, readJsonBody, sendJson } from '../shared/io.js';
import type { MonitorAdminPort } from '../types.js';
import { requireRole } from './admin-sessions.js';
import { parseBody } from './schemas.js';

const Note = z.string().min(1).max(2000);
const AckRequest = z.strictObject({ seq: z.number().int().min(1), note: Note });
const ApproveRequest = z.strictObject({ server: z.string().min(1).max(128), tool: z.string().min(1).max(256) });
const KillRequest = z.strictObject({ target: z.string().min(3).max(600), reason: Note });
const LiftRequest = z.strictObject({ id: z.string().min(1).max(200), reason: Note });

export interface MonitorApiDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  readonly monitor: MonitorAdminPort;
  readonly maxBodyBytes: number;
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createMonitorRoutes(deps: MonitorApiDeps): Array<[string, Route]> {
  const { monitor } = deps;
  const readers = [...monitor.roles, ...(monitor.readRoles ?? [])];

  /** An admin or a reader; otherwise a `monitor_read_refused` row (with the request's trace id) and a 403. */
  async function reader(req: IncomingMessage, res: ServerResponse, view: string): Promise<Principal | undefined> {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return undefined;
    await requireRole(deps.pipeline, principal, readers, {
      action: 'monitor_read_refused',
      detail: { view },
      message: 'This needs an admin role.',
      traceId: parseTraceparent(req.headers.traceparent),
    });
    return principal;
  }

  /** A changing request: the body is read before the role is checked, so the refusal row can name the target. */
  function changing<S extends z.ZodType>(
    action: string,
    schema: S,
    run: (principal: Principal, body: z.infer<S>) => Promise<[number, unknown]>,
    roles: readonly string[] = monitor.roles,
  ): Route {
    return async (req, res) => {
      const principal = await deps.auth.authenticate(req, res);
      if (!principal) return;
      const body = parseBody(schema, await readJsonBody(req, deps.maxBodyBytes));
      const { reason: _reason, note: _note, ...detail } = body as Record<string, unknown>;
      await requireRole(deps.pipeline, principal, roles, {
        action: 'monitor_admin_refused',
        detail: { attempted: action, ...detail },
        message: 'This needs an admin role.',
        traceId: parseTraceparent(req.headers.traceparent),
      });
      const [status, answer] = await run(principal, body);
      sendJson(res, status, answer);
    };
  }

  const reading =
    (view: string, answer: (req: IncomingMessage) => unknown): Route =>
    async (req, res) => {
      if (await reader(req, res, view)) sendJson(res, 200, answer(req));
    };

  const routes: Array<[string, Route]> = [
    ['GET /v1/alerts', reading('alerts', (req) => ({ alerts: monitor.alerts({ all: new URL(req.url ?? '/', 'http://x').searchParams.get('all') === '1' }) }))],
    [
      'POST /v1/alerts/ack',
      changing('alert_acknowledged', AckRequest, async (p, b) => [200, { alert: await monitor.acknowledge(p, b.seq, b.note) }], [
        ...monitor.roles,
        ...(monitor.ackRoles ?? []),
      ]),
    ],
    ['GET /v1/inventory', reading('inventory', () => monitor.inventory())],
    [
      'POST /v1/inventory/tools/approve',
      changing('tool_definition_approved', ApproveRequest, async (p, b) => [200, await monitor.approveTool(p, b.server, b.tool)]),
    ],
    ['GET /v1/admin/kill-switches', reading('kill_switches', () => ({ kill_switches: monitor.kills() }))],
    [
      'POST /v1/admin/kill-switches',
      changing('kill_switch_set', KillRequest, async (p, b) => [201, { kill_switch: await monitor.setKill(p, b.target, b.reason) }]),
    ],
    [
      'POST /v1/admin/kill-switches/lift',
      changing('kill_switch_lifted', LiftRequest, async (p, b) => [200, { lifted: await monitor.liftKill(p, b.id, b.reason) }]),
    ],
  ];
  if (monitor.scrape) {
    const scrape = monitor.scrape;
    routes.push([
      'GET /metrics',
      async (_req, res) => {
        const { contentType, body } = await scrape();
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
      },
    ]);
  }
  return routes;
}
