/**
 * DEV ONLY. The RFC 8693 token-exchange grant at the dev provider (oidc-provider's
 * `registerGrantType`), as a user's own IdP answers Custos for an upstream
 * (`upstreams[].identity.mode: idp-exchange`): an authenticated confidential client presents a
 * user's access token of this provider as `subject_token` and an upstream as `audience`; the
 * answer is a new ES256 access token (`typ: at+jwt`) of this provider with `sub` the user, her
 * claims, `aud` the upstream, `act: { sub: <client> }`, 5 min and never past the subject token.
 *
 * Refused (RFC 6749 §5.2 JSON): a subject token that is not this provider's, is expired, names no
 * demo user or is a machine token (`invalid_grant`); a missing or non-access-token subject type
 * (`invalid_request`); an audience that is not an http(s) URL (`invalid_target`, as the provider's
 * resource indicators).
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT } from 'jose';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { JWK } from 'oidc-provider';
import { devUserClaims, findDevUser } from './users.js';
import type { DevUser } from './users.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const EXCHANGED_TTL_SEC = 300;

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi']);
const publicJwk = (jwk: JWK): JWK => Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_MEMBERS.has(k))) as JWK;

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export function registerTokenExchange(provider: Provider, options: { issuer: string; signingKey: JWK; users: readonly DevUser[] }): void {
  const { issuer, signingKey, users } = options;
  const keys = createLocalJWKSet({ keys: [publicJwk(signingKey) as Parameters<typeof createLocalJWKSet>[0]['keys'][number]] });
  const privateKey = importJWK(signingKey as Parameters<typeof importJWK>[0], 'ES256');

  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx, next) => {
      const params = ctx.oidc.params as Record<string, unknown>;
      const clientId = ctx.oidc.client!.clientId;
      if (typeof params.subject_token !== 'string' || params.subject_token_type !== ACCESS_TOKEN_TYPE) {
        throw new errors.InvalidRequest('subject_token (an access token of this provider) and its subject_token_type are required');
      }
      if (!isHttpUrl(params.audience)) throw new errors.InvalidTarget('audience must be an http(s) URL');
      const subject = await jwtVerify(params.subject_token, keys, { issuer, typ: 'at+jwt' }).catch(() => {
        throw new errors.InvalidGrant('subject_token is not a valid, unexpired access token of this provider');
      });
      const { sub, client_id: subjectClient, sid, exp } = subject.payload as { sub?: string; client_id?: string; sid?: unknown; exp?: number };
      const user = findDevUser(users, sub);
      if (!user || user.sub !== sub || sub === subjectClient) throw new errors.InvalidGrant('subject_token names no user');
      const now = Math.floor(Date.now() / 1000);
      const expiresAt = Math.min(now + EXCHANGED_TTL_SEC, exp ?? Infinity);
      const token = await new SignJWT({ ...devUserClaims(user), ...(typeof sid === 'string' ? { sid } : {}), client_id: clientId, act: { sub: clientId } })
        .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setSubject(user.sub)
        .setAudience(params.audience)
        .setIssuedAt(now)
        .setExpirationTime(expiresAt)
        .setJti(randomUUID())
        .sign(await privateKey);
      ctx.body = { access_token: token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: expiresAt - now };
      await next();
    },
    ['subject_token', 'subject_token_type', 'audience', 'requested_token_type', 'actor_token', 'actor_token_type', 'scope', 'resource'],
  );
}
