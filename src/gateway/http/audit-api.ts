/**
 * Search of the trail over HTTP, for auditors:
 *   GET /v1/audit?user=&agent=&tier=&tool=&decision=&data_class=&resource=&event=&from=&to=&request_id=&after_seq=&limit=
 *     → 200 { records, next_after_seq? }   (paginated by seq: pass next_after_seq as after_seq)
 *   GET /v1/audit/disclosures?patient=ID&from=&to=
 *     → 200 the HIPAA accounting of disclosures for one patient (164.528)
 * Only a role of `audit.search.roles` may search. Every search is an `admin` row written
 * before the answer (no row, no answer); a refusal is an `admin` row with decision deny.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CustosError, sha256Hex } from '../../kernel/index.js';
import type { Pipeline, Principal } from '../../kernel/index.js';
import { requireRole } from './admin-sessions.js';
import type { Authenticator } from '../shared/auth.js';
import { parseTraceparent, sendJson } from '../shared/io.js';
import type { AuditSearchPort } from '../types.js';

const text = z.string().min(1).max(2048);
const time = z.iso.datetime({ offset: true });

const SearchQuery = z.strictObject({
  user: text.optional(),
  agent: text.optional(),
  tier: text.optional(),
  tool: text.optional(),
  decision: z.enum(['allow', 'deny', 'confirm']).optional(),
  data_class: text.optional(),
  resource: text.optional(),
  event: text.optional(),
  from: time.optional(),
  to: time.optional(),
  request_id: text.optional(),
  after_seq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

const DisclosureQuery = z.strictObject({ patient: z.string().min(1).max(256), from: time.optional(), to: time.optional() });

export interface AuditApiDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  readonly search: AuditSearchPort;
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

function queryOf<T>(schema: z.ZodType<T>, req: IncomingMessage): T {
  const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const raw: Record<string, string> = {};
  for (const [k, v] of params) {
    if (k in raw) throw new CustosError('ERR_GATEWAY_BAD_REQUEST', `query parameter ${k} is given twice`);
    raw[k] = v;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
    throw new CustosError('ERR_GATEWAY_BAD_REQUEST', `invalid search: ${problems}`);
  }
  return parsed.data;
}

export function createAuditApi(deps: AuditApiDeps): { search: Route; disclosures: Route } {
  /** The caller may search, or the refusal is recorded and thrown. */
  async function admit(principal: Principal, report: 'search' | 'disclosures', traceId: string | undefined): Promise<void> {
    await requireRole(deps.pipeline, principal, deps.search.roles, {
      action: 'audit_search_refused',
      detail: { report },
      message: 'Searching the audit trail needs an auditor role (audit.search.roles).',
      traceId,
    });
  }

  const search: Route = async (req, res) => {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const traceId = parseTraceparent(req.headers.traceparent);
    await admit(principal, 'search', traceId);
    const { after_seq: afterSeq = 0, limit = 100, data_class: dataClass, request_id: requestId, ...rest } = queryOf(SearchQuery, req);
    const query = { ...rest, ...(dataClass ? { dataClass } : {}), ...(requestId ? { requestId } : {}) };
    const page = await deps.search.search(query, { afterSeq, limit });
    const record = await deps.pipeline.recordAdmin({
      action: 'audit_searched',
      principal,
      traceId,
      detail: { report: 'search', query: { ...rest, data_class: dataClass, request_id: requestId }, after_seq: afterSeq, limit, returned: page.records.length },
    });
    sendJson(res, 200, { ...page, request_id: record.request_id });
  };

  const disclosures: Route = async (req, res) => {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const traceId = parseTraceparent(req.headers.traceparent);
    await admit(principal, 'disclosures', traceId);
    const { patient, from, to } = queryOf(DisclosureQuery, req);
    const report = await deps.search.disclosures(patient, { ...(from ? { from } : {}), ...(to ? { to } : {}) });
    const record = await deps.pipeline.recordAdmin({
      action: 'audit_disclosures_reported',
      principal,
      traceId,
      // The patient identifier itself is PHI: the row proves which patient by its SHA-256.
      detail: { report: 'disclosures', patient_sha256: sha256Hex(patient), from: from ?? null, to: to ?? null, returned: report.disclosures.length },
    });
    sendJson(res, 200, { ...report, request_id: record.request_id });
  };

  return { search, disclosures };
}
