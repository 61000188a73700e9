/**
 * Evidence packs over HTTP (docs/api.md#evidence-packs; the console's contract):
 *   GET  /v1/evidence/checklist              → 200 { generated_at, bundle_hash, boxes[19] }
 *   POST /v1/evidence/packs                  { framework, from?, to?, live_tests? } → 201 { id, framework, manifest_sha256, files, checklist }
 *   GET  /v1/evidence/packs                  → 200 { packs: [{ id, framework, created_at, manifest_sha256 }] }
 *   GET  /v1/evidence/file?pack=ID&path=REL  → the file (only paths its manifest lists), attachment except report.html
 * Auditors (`audit.search.roles`) and the admin roles may call; `live_tests: true` is admin only.
 * A refusal is an `admin` row (decision deny), and so is every answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CustosError } from '../../kernel/index.js';
import type { Pipeline, Principal } from '../../kernel/index.js';
import type { Authenticator } from '../shared/auth.js';
import { parseTraceparent, readJsonBody, sendJson } from '../shared/io.js';
import type { EvidencePort } from '../types.js';
import { requireRole } from './admin-sessions.js';
import { parseBody } from './schemas.js';

const time = z.iso.datetime({ offset: true });
const PackRequest = z.strictObject({
  framework: z.enum(['soc2', 'hipaa', 'pci', 'gdpr', 'euaiact', 'nist']),
  from: time.optional(),
  to: time.optional(),
  live_tests: z.boolean().optional(),
});
const FileQuery = z.strictObject({ pack: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/), path: z.string().min(1).max(512) });

export interface EvidenceApiDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  readonly evidence: EvidencePort;
  readonly maxBodyBytes: number;
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createEvidenceRoutes(deps: EvidenceApiDeps): Array<[string, Route]> {
  const { evidence } = deps;

  /** Authenticated and entitled (an auditor or an admin; `adminOnly`: an admin), or the refusal is a row and a 403. */
  function guarded(
    action: string,
    run: (principal: Principal, req: IncomingMessage, traceId: string | undefined) => Promise<[number, unknown, Record<string, unknown>]>,
  ): Route {
    return async (req, res) => {
      const principal = await deps.auth.authenticate(req, res);
      if (!principal) return;
      const traceId = parseTraceparent(req.headers.traceparent);
      await entitle(principal, [...evidence.roles, ...evidence.adminRoles], action, traceId);
      const [status, body, detail] = await run(principal, req, traceId);
      await deps.pipeline.recordAdmin({ action, principal, traceId, detail });
      sendJson(res, status, body);
    };
  }

  /** The caller holds one of `roles`, or the refusal is an `evidence_refused` row and a 403. */
  function entitle(principal: Principal, roles: readonly string[], attempted: string, traceId: string | undefined): Promise<void> {
    return requireRole(deps.pipeline, principal, roles, {
      action: 'evidence_refused',
      detail: { attempted },
      message: 'Evidence packs need an auditor role (audit.search.roles) or an admin role.',
      traceId,
    });
  }

  const file: Route = async (req, res) => {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const traceId = parseTraceparent(req.headers.traceparent);
    await entitle(principal, [...evidence.roles, ...evidence.adminRoles], 'evidence_file_read', traceId);
    const parsed = FileQuery.safeParse(Object.fromEntries(new URL(req.url ?? '/', 'http://localhost').searchParams));
    if (!parsed.success) throw new CustosError('ERR_GATEWAY_BAD_REQUEST', 'give pack=ID and path=REL');
    const found = await evidence.file(parsed.data.pack, parsed.data.path);
    if (!found) throw new CustosError('ERR_GATEWAY_NOT_FOUND');
    await deps.pipeline.recordAdmin({ action: 'evidence_file_read', principal, traceId, detail: { pack: parsed.data.pack, path: parsed.data.path } });
    const name = parsed.data.path.split('/').pop() ?? 'file';
    res.writeHead(200, {
      'content-type': found.contentType,
      'content-length': String(found.bytes.length),
      'x-content-type-options': 'nosniff',
      ...(parsed.data.path === 'report.html'
        ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:" }
        : { 'content-disposition': `attachment; filename="${name.replace(/[^A-Za-z0-9._()-]/g, '_')}"` }),
    });
    res.end(found.bytes);
  };

  return [
    ['GET /v1/evidence/checklist', guarded('evidence_checklist_read', async () => [200, await evidence.checklist(), {}])],
    [
      'POST /v1/evidence/packs',
      guarded('evidence_pack_created', async (principal, req, traceId) => {
        const body = parseBody(PackRequest, await readJsonBody(req, deps.maxBodyBytes));
        if (body.live_tests) await entitle(principal, evidence.adminRoles, 'evidence_pack_live_tests', traceId);
        const pack = await evidence.createPack({
          framework: body.framework,
          ...(body.from ? { from: body.from } : {}),
          ...(body.to ? { to: body.to } : {}),
          liveTests: body.live_tests ?? false,
        });
        return [201, pack, { pack: pack.id, framework: body.framework, manifest_sha256: pack.manifest_sha256, live_tests: body.live_tests ?? false }];
      }),
    ],
    ['GET /v1/evidence/packs', guarded('evidence_packs_listed', async () => [200, { packs: await evidence.listPacks() }, {}])],
    ['GET /v1/evidence/file', file],
  ];
}
