/**
 * POST /oauth/backchannel-logout — OpenID Connect Back-Channel Logout 1.0: the IdP posts a
 * form with `logout_token`; a valid one revokes the session (200), anything else is 400
 * `invalid_request`. Both are recorded (an admin row under the user, or an auth_failure row,
 * through the flood guard: aggregated per source, 429 past the source's failure budget).
 * A store that is down (the session store, or the trail for the row) is not a bad token: 503
 * with the store's code and `Retry-After`, so the IdP may deliver the token again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isCustosError } from '../../kernel/index.js';
import type { Pipeline } from '../../kernel/index.js';
import { mapErrorCode } from '../errors.js';
import type { FloodGuard } from '../shared/flood-guard.js';
import { readBody, sendError, sendJson } from '../shared/io.js';
import type { Logger } from '../types.js';
import type { LogoutPort } from '../shared/session-types.js';

export interface LogoutRouteDeps {
  readonly logout: LogoutPort;
  readonly pipeline: Pipeline;
  readonly maxBodyBytes: number;
  readonly guard: FloodGuard;
  readonly logger: Logger;
}

const NO_STORE = { 'cache-control': 'no-store' };

export function createBackchannelLogoutRoute(deps: LogoutRouteDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    const form = new URLSearchParams(type === 'application/x-www-form-urlencoded' ? (await readBody(req, deps.maxBodyBytes)).toString('utf8') : '');
    const token = form.get('logout_token');
    try {
      if (!token || form.getAll('logout_token').length !== 1) throw new Error('missing logout_token');
      // The row is written inside the logout: if it cannot be, the token may be delivered again.
      await deps.logout.logout(token, async (out) => {
        const principal = out.sub ? { sub: out.sub, iss: out.iss, roles: [], groups: [], sessionId: out.sid } : null;
        await deps.pipeline.recordAdmin({
          action: 'session_revoked',
          principal,
          detail: { target: { iss: out.iss, session_id: out.sid ?? null, sub: out.sub ?? null }, via: 'backchannel_logout', jti: out.jti },
        });
      });
      res.writeHead(200, NO_STORE).end();
    } catch (err) {
      if (isCustosError(err) && mapErrorCode(err.code).status === 503) return sendError(res, err, deps.logger, NO_STORE);
      const code = isCustosError(err) ? err.code : 'ERR_GATEWAY_BAD_REQUEST';
      await deps.guard.refuse(req, res, { code }, () =>
        sendJson(res, 400, { error: 'invalid_request', error_description: 'The logout token is not valid.' }, NO_STORE),
      );
    }
  };
}
