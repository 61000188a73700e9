/**
 * OpenID Connect Back-Channel Logout 1.0 §2.6: validates a logout token and turns it into a
 * revocation (the `sid`, else every session of `sub`). Any failure is ERR_IDENTITY_CLAIM_INVALID
 * (the endpoint answers 400); a replayed `jti` is refused the same way.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { CustosError } from '../../kernel/index.js';
import type { SessionStore } from './types.js';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface LogoutIssuer {
  readonly issuer: string;
  readonly jwksUri?: string;
  readonly algorithms?: readonly string[];
  /** The `aud` logout tokens of this issuer must carry: Custos's client id there. Absent: refused. */
  readonly backchannelClientId?: string;
  readonly clockSkewSec?: number;
}

export interface LogoutResult {
  readonly iss: string;
  readonly sid?: string;
  readonly sub?: string;
  readonly jti: string;
}

export interface LogoutVerifier {
  /**
   * Verifies, checks replay, applies the revocation, then runs `complete` (the caller's audit
   * row). When the revocation or `complete` fails (a store down), the token's jti is forgotten
   * again, so the IdP's next delivery of the same token is taken, not refused as a replay.
   */
  logout(token: string, complete?: (result: LogoutResult) => Promise<void>): Promise<LogoutResult>;
}

/** How long a logout token is accepted after its iat, and its jti remembered. */
const MAX_AGE_SEC = 600;

function invalid(message: string): CustosError {
  return new CustosError('ERR_IDENTITY_CLAIM_INVALID', `logout token: ${message}`);
}

async function discoverJwks(issuer: string): Promise<string> {
  const res = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  const doc = (await res.json()) as { jwks_uri?: unknown };
  if (!res.ok || typeof doc.jwks_uri !== 'string') throw new CustosError('ERR_IDENTITY_JWKS_UNAVAILABLE');
  return doc.jwks_uri;
}

/** The §2.6 claim checks after the signature, iss and aud have verified. */
export function checkLogoutClaims(payload: JWTPayload): { sid?: string; sub?: string; jti: string } {
  if (typeof payload.iat !== 'number') throw invalid('iat is required');
  if (typeof payload.jti !== 'string' || payload.jti === '') throw invalid('jti is required');
  const events = payload.events as Record<string, unknown> | undefined;
  const event = events && typeof events === 'object' ? events[LOGOUT_EVENT] : undefined;
  if (event === null || typeof event !== 'object' || Array.isArray(event)) throw invalid('events must hold the back-channel logout event');
  if ('nonce' in payload) throw invalid('nonce is not allowed');
  const sid = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined;
  const sub = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  if (!sid && !sub) throw invalid('sid or sub is required');
  return { ...(sid ? { sid } : {}), ...(sub ? { sub } : {}), jti: payload.jti };
}

export function createLogoutVerifier(options: { issuers: readonly LogoutIssuer[]; store: SessionStore; now?: () => number }): LogoutVerifier {
  const now = options.now ?? Date.now;
  const jwks = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  async function keysOf(cfg: LogoutIssuer): Promise<ReturnType<typeof createRemoteJWKSet>> {
    let set = jwks.get(cfg.issuer);
    if (!set) {
      set = createRemoteJWKSet(new URL(cfg.jwksUri ?? (await discoverJwks(cfg.issuer))), { timeoutDuration: 5000 });
      jwks.set(cfg.issuer, set);
    }
    return set;
  }

  async function logout(token: string, complete?: (result: LogoutResult) => Promise<void>): Promise<LogoutResult> {
    if (token.length > 16_384) throw invalid('too large');
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw invalid('not a JWT');
    }
    const cfg = options.issuers.find((i) => i.issuer === iss);
    if (!cfg?.backchannelClientId) throw invalid('issuer not configured for back-channel logout');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await keysOf(cfg), {
        issuer: cfg.issuer,
        audience: cfg.backchannelClientId,
        algorithms: [...(cfg.algorithms ?? ['RS256', 'ES256', 'PS256', 'EdDSA'])],
        clockTolerance: cfg.clockSkewSec ?? 60,
        maxTokenAge: MAX_AGE_SEC,
        currentDate: new Date(now()),
      }));
    } catch (err) {
      if (err instanceof CustosError) throw err;
      throw invalid('signature or claims do not verify');
    }
    const claims = checkLogoutClaims(payload);
    const fresh = await options.store.rememberJti(cfg.issuer, claims.jti, ((payload.iat ?? 0) + MAX_AGE_SEC) * 1000 + 60_000);
    if (!fresh) throw invalid('jti was already used');
    const result = { iss: cfg.issuer, ...claims };
    try {
      if (claims.sid) await options.store.revokeSession(cfg.issuer, claims.sid, now());
      else if (claims.sub) await options.store.revokeUser(cfg.issuer, claims.sub, now());
      await complete?.(result);
    } catch (err) {
      await options.store.forgetJti(cfg.issuer, claims.jti).catch(() => undefined); // the store may still be down: the token is then refused as a replay
      throw err;
    }
    return result;
  }

  return { logout };
}
