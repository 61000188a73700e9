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

export function createAdminSessionsRoute(deps: AdminSessionsDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const admin = await deps.auth.authenticate(req, res);
    if (!admin) return;
    const body = parseBody(RevokeRequest, await readJsonBody(req, deps.maxBodyBytes));
    const iss = body.iss ?? admin.iss;
    const target = 'session_id' in body ? { iss, session_id: body.session_id } : { iss, sub: body.sub };
    const traceId = parseTraceparent(req.headers.traceparent);
    if (!holdsRole(admin, deps.admin.roles)) {
      await deps.pipeline.recordAdmin({
        action: 'session_revoke_refused',
        principal: admin,
        decision: 'deny',
        traceId,
        detail: { target, code: 'ERR_IDENTITY_NOT_ENTITLED' },
      });
      throw new CustosError('ERR_IDENTITY_NOT_ENTITLED', 'Revoking sessions needs an admin role.');
    }
    if ('session_id' in body) await deps.admin.revokeSession(iss, body.session_id);
    else await deps.admin.revokeUser(iss, body.sub);
    const record = await deps.pipeline.recordAdmin({ action: 'session_revoked', principal: admin, traceId, detail: { target, via: 'admin_api' } });
    sendJson(res, 200, { revoked: target, request_id: record.request_id });
  };
}
