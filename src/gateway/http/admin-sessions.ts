/**
 * POST /v1/admin/sessions/revoke — `{ "session_id", "iss"? }` revokes one IdP session,
 * `{ "sub", "iss"? }` every session of a user (`iss` defaults to the admin's issuer).
 * The caller must hold an admin role; both outcomes are admin rows naming admin and target.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CustosError } from '../../kernel/index.js';
import type { Pipeline, Principal } from '../../kernel/index.js';
import type { Authenticator } from '../shared/auth.js';
import { parseTraceparent, readJsonBody, sendJson } from '../shared/io.js';
import { parseBody } from './schemas.js';
import type { SessionAdminPort } from '../shared/session-types.js';

const RevokeRequest = z.union([
  z.strictObject({ session_id: z.string().min(1).max(512), iss: z.string().min(1).max(2048).optional() }),
  z.strictObject({ sub: z.string().min(1).max(512), iss: z.string().min(1).max(2048).optional() }),
]);

export interface AdminSessionsDeps {
  readonly auth: Authenticator;
  readonly pipeline: Pipeline;
  readonly admin: SessionAdminPort & { readonly roles: readonly string[] };
  readonly maxBodyBytes: number;
}

export function holdsRole(principal: Principal, roles: readonly string[]): boolean {
  return principal.roles.some((r) => roles.includes(r));
}

/** What a refused caller attempted: the deny row's action and detail, and the error's message. */
export interface Refusal {
  readonly action: string;
  readonly detail: Record<string, unknown>;
  readonly message: string;
  readonly traceId?: string;
}

/** Passes a caller holding one of `roles`; otherwise writes the deny row and throws ERR_IDENTITY_NOT_ENTITLED. */
export async function requireRole(pipeline: Pipeline, principal: Principal, roles: readonly string[], refusal: Refusal): Promise<void> {
  if (holdsRole(principal, roles)) return;
  await pipeline.recordAdmin({
    action: refusal.action,
    principal,
    decision: 'deny',
    traceId: refusal.traceId,
    detail: { ...refusal.detail, code: 'ERR_IDENTITY_NOT_ENTITLED' },
  });
  throw new CustosError('ERR_IDENTITY_NOT_ENTITLED', refusal.message);
}

export function createAdminSessionsRoute(deps: AdminSessionsDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const admin = await deps.auth.authenticate(req, res);
    if (!admin) return;
    const body = parseBody(RevokeRequest, await readJsonBody(req, deps.maxBodyBytes));
    const iss = body.iss ?? admin.iss;
    const target = 'session_id' in body ? { iss, session_id: body.session_id } : { iss, sub: body.sub };
    const traceId = parseTraceparent(req.headers.traceparent);
    await requireRole(deps.pipeline, admin, deps.admin.roles, {
      action: 'session_revoke_refused',
      detail: { target },
      message: 'Revoking sessions needs an admin role.',
      traceId,
    });
    if ('session_id' in body) await deps.admin.revokeSession(iss, body.session_id);
    else await deps.admin.revokeUser(iss, body.sub);
    const record = await deps.pipeline.recordAdmin({ action: 'session_revoked', principal: admin, traceId, detail: { target, via: 'admin_api' } });
    sendJson(res, 200, { revoked: target, request_id: record.request_id });
  };
}
