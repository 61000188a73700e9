/**
 * Background grants, created by the user with their own interactive token:
 *   POST /v1/grants/background         { client_id, scope?, ttl_sec? } → 201 { grant_id, grant_token, … }
 *   POST /v1/grants/background/revoke  { grant_id } → 200 { revoked: true } (only the grant's own user)
 * The runner then exchanges grant_token (subject) with its own credential (actor) at /oauth/token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { CustosError } from '../../kernel/index.js';
import type { TokenExchanger } from '../../kernel/index.js';
import type { Authenticator } from '../shared/auth.js';
import { readJsonBody, sendJson } from '../shared/io.js';
import { parseBody } from './schemas.js';

export const BACKGROUND_GRANT_TOKEN_TYPE = 'urn:custos:params:oauth:token-type:background-grant';

const CreateGrant = z.strictObject({
  client_id: z.string().min(1).max(256),
  scope: z.string().min(1).max(4096).optional(),
  ttl_sec: z.number().int().positive().optional(),
});

const RevokeGrant = z.strictObject({ grant_id: z.string().min(1).max(128) });

export interface GrantRoutesDeps {
  readonly auth: Authenticator;
  readonly tokens: TokenExchanger;
  readonly maxBodyBytes: number;
}

export function createGrantRoutes(deps: GrantRoutesDeps): Array<[string, (req: IncomingMessage, res: ServerResponse) => Promise<void>]> {
  async function create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const body = parseBody(CreateGrant, await readJsonBody(req, deps.maxBodyBytes));
    const scope = body.scope?.split(' ').filter(Boolean);
    const grant = await deps.tokens.createBackgroundGrant(principal, {
      clientId: body.client_id,
      ...(scope === undefined ? {} : { scope }),
      ...(body.ttl_sec === undefined ? {} : { ttlSec: body.ttl_sec }),
    });
    sendJson(res, 201, {
      grant_id: grant.grantId,
      grant_token: grant.grantToken,
      grant_token_type: BACKGROUND_GRANT_TOKEN_TYPE,
      client_id: grant.clientId,
      ...(grant.scope === undefined ? {} : { scope: grant.scope.join(' ') }),
      expires_at: new Date(grant.expiresAt * 1000).toISOString(),
    });
  }

  async function revoke(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const principal = await deps.auth.authenticate(req, res);
    if (!principal) return;
    const body = parseBody(RevokeGrant, await readJsonBody(req, deps.maxBodyBytes));
    if (!(await deps.tokens.revokeBackgroundGrant(principal, body.grant_id))) {
      throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'You hold no background grant with this id.');
    }
    sendJson(res, 200, { grant_id: body.grant_id, revoked: true });
  }

  return [
    ['POST /v1/grants/background', create],
    ['POST /v1/grants/background/revoke', revoke],
  ];
}
