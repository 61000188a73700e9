/**
 * The user's identity at the tool: tokens for an HTTP upstream's audience. `token-exchange`:
 * what Custos' own RFC 8693 token service would answer an exchange with the user as subject and
 * Custos as actor (`typ: at+jwt`, 5 min, never past the user's own token). `idp-exchange`: a
 * real RFC 8693 exchange at the user's own IdP (idp-exchange.ts), whose token the upstream gets.
 * Both are cached per user, chain and audience until a minute before expiry. `assertion`: a
 * short-lived signed identity assertion (`typ: custos-id+jwt`, 60 s, minted per call).
 */
import { CustosError } from '../../kernel/index.js';
import type { Principal, UpstreamTokenIssuer } from '../../kernel/index.js';
import { ACCESS_TOKEN_TYP, IDENTITY_ASSERTION_TYP, mintUpstreamToken } from './custos-tokens.js';
import type { CustosTokenContext } from './custos-tokens.js';
import type { IdpExchange } from './idp-exchange.js';

export const UPSTREAM_TOKEN_TTL_SEC = 300;
export const IDENTITY_ASSERTION_TTL_SEC = 60;
/** A cached token is used only while it has at least this long left. */
const REUSE_MARGIN_SEC = 60;
const MAX_CACHED = 10_000;

export function createUpstreamTokenIssuer(ctx: CustosTokenContext & { readonly idpExchange?: IdpExchange }): UpstreamTokenIssuer {
  const cache = new Map<string, { readonly token: string; readonly expiresAt: number }>();
  const lifetime = (user: Principal, nowSec: number, ttl: number): number => Math.min(nowSec + ttl, user.expiresAt ?? Infinity);

  async function custosToken(user: Principal, audience: string, nowSec: number): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = lifetime(user, nowSec, UPSTREAM_TOKEN_TTL_SEC);
    return { token: (await mintUpstreamToken(ctx, audience, user, ACCESS_TOKEN_TYP, expiresAt)).token, expiresAt };
  }

  return {
    async issue(user, audience, mode) {
      const nowSec = Math.floor(ctx.clock() / 1000);
      if (mode === 'assertion')
        return (await mintUpstreamToken(ctx, audience, user, IDENTITY_ASSERTION_TYP, lifetime(user, nowSec, IDENTITY_ASSERTION_TTL_SEC))).token;
      const key = JSON.stringify([mode, user.iss, user.sub, user.sessionId ?? null, user.actors ?? [], audience]);
      const hit = cache.get(key);
      if (hit && hit.expiresAt - nowSec > REUSE_MARGIN_SEC) return hit.token;
      let fresh: { token: string; expiresAt: number };
      if (mode === 'idp-exchange') {
        if (!ctx.idpExchange) throw new CustosError('ERR_UPSTREAM_IDENTITY_UNAVAILABLE', 'No identity provider is configured for token exchange.');
        fresh = await ctx.idpExchange(user, audience, nowSec);
      } else {
        fresh = await custosToken(user, audience, nowSec);
      }
      cache.delete(key);
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
      cache.set(key, fresh);
      return fresh.token;
    },
  };
}
