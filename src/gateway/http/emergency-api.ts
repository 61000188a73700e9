/**
 * Break-glass over HTTP:
 *   POST /v1/emergency/grants          `{ "reason" }` → 201 `{ grant_id, expires_at }` (needs a break-glass role)
 *   GET  /v1/emergency/reviews         the grants whose post-hoc review is open (needs an admin role)
 *   POST /v1/emergency/reviews/close   `{ "grant_id", "note"? }` (a second person with a reviewer role)
 * Opening, refusing and closing are admin rows; opening also raises an `emergency_access` alert.
 * The opened row is written before the grant is stored: no row, no grant (fail closed).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CustosError, isCustosError } from '../../kernel/index.js';
import type { Pipeline, Principal } from '../../kernel/index.js';
import { holdsRole } from './admin-sessions.js';
import type { Authenticator } from '../shared/auth.js';
import { parseTraceparent, readJsonBody, sendJson } from '../shared/io.js';
import { parseBody } from './schemas.js';
import type { EmergencyGrant, EmergencyPort } from '../shared/session-types.js';

const OpenRequest = z.strictObject({ reason: z.string().min(1).max(2000) });
const CloseRequest = z.strictObject({ grant_id: z.string().min(1).max(200), note: z.string().max(2000).optional() });

export interface EmergencyApiDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  readonly emergency: EmergencyPort;
  /** Who may list the review queue. */
  readonly adminRoles: readonly string[];
  readonly maxBodyBytes: number;
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createEmergencyApi(deps: EmergencyApiDeps): { open: Route; reviews: Route; close: Route } {
  async function refuse(principal: Principal, action: string, err: unknown, detail: Record<string, unknown>, traceId?: string): Promise<never> {
    const code = isCustosError(err) ? err.code : 'ERR_INTERNAL';
    await deps.pipeline.recordAdmin({ action, principal, decision: 'deny', traceId, detail: { ...detail, code } });
    throw err;
  }

  const open: Route = async (req, res) => {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const { reason } = parseBody(OpenRequest, await readJsonBody(req, deps.maxBodyBytes));
    const traceId = parseTraceparent(req.headers.traceparent);
    const detailOf = (g: EmergencyGrant) => ({ grant_id: g.id, expires_at: g.expiresAt, session_id: g.sessionId ?? null });
    // Fail closed: the opened row is written (with the pre-generated id) before the grant is stored.
    const recordOpened = async (g: EmergencyGrant): Promise<void> =>
      void (await deps.pipeline.recordAdmin({ action: 'emergency_grant_opened', principal, traceId, detail: { ...detailOf(g), reason } }));
    const grant = await deps.emergency
      .open(principal, reason, recordOpened)
      .catch((err: unknown) => refuse(principal, 'emergency_grant_refused', err, { reason }, traceId));
    const detail = detailOf(grant);
    await deps.pipeline.recordAlert({ type: 'emergency_access', severity: 'high', principal, decision: 'allow', detail: { ...detail, phase: 'opened' } });
    sendJson(res, 201, { grant_id: grant.id, expires_at: grant.expiresAt, review: 'open' });
  };

  const reviews: Route = async (req, res) => {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    if (!holdsRole(principal, deps.adminRoles)) throw new CustosError('ERR_IDENTITY_NOT_ENTITLED', 'Listing reviews needs an admin role.');
    const open = await deps.emergency.listReviews();
    sendJson(res, 200, { reviews: open.map((g) => ({ grant_id: g.id, holder: g.holder, opened_at: g.openedAt, expires_at: g.expiresAt })) });
  };

  const close: Route = async (req, res) => {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const body = parseBody(CloseRequest, await readJsonBody(req, deps.maxBodyBytes));
    const traceId = parseTraceparent(req.headers.traceparent);
    const grant = await deps.emergency
      .closeReview(body.grant_id, principal)
      .catch((err: unknown) => refuse(principal, 'emergency_review_refused', err, { grant_id: body.grant_id }, traceId));
    await deps.pipeline.recordAdmin({
      action: 'emergency_review_closed',
      principal,
      traceId,
      detail: { grant_id: grant.id, holder: grant.holder, note: body.note ?? null },
    });
    sendJson(res, 200, { grant_id: grant.id, closed_by: grant.closedBy, closed_at: grant.closedAt });
  };

  return { open, reviews, close };
}
