/**
 * Tokens Custos issues itself, signed with its own keys (signing-keys.ts):
 *   - delegation access tokens (`typ: at+jwt`, aud = the Custos resource): sub = the user,
 *     the RFC 8693 §4.1 nested `act` chain, the original `sid`, a narrowed `scope`, and
 *     `custos_cred` naming the credential kind the tier is derived from;
 *   - background grant tokens (`typ: custos-grant+jwt`, aud = the token endpoint).
 * `custos_cred` is trustworthy because only Custos signs these tokens, after deriving it.
 */
import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { CustosError } from '../../kernel/index.js';
import type { CredentialKind, Principal } from '../../kernel/index.js';
import { buildPrincipal, mapJoseError } from '../verification/index.js';
import type { SigningKeyStore } from './signing-keys.js';

export const ACCESS_TOKEN_TYP = 'at+jwt';
export const GRANT_TOKEN_TYP = 'custos-grant+jwt';
/** Deeper `act` nesting than this is malformed whatever the configured maximum depth. */
const MAX_ACT_NESTING = 16;
const MINTED_KINDS: readonly CredentialKind[] = ['delegation', 'background', 'client'];

/** What a delegation token says about the user and the chain; copied from the verified subject. */
export interface DelegationClaims {
  readonly user: Principal;
  /** Actor ids (client id, else sub), oldest first; the last one is the current actor. */
  readonly actors: readonly string[];
  readonly credential: Exclude<CredentialKind, 'user'>;
  readonly scope?: readonly string[];
  readonly grantId?: string;
  /** Seconds since epoch. */
  readonly expiresAt: number;
}

export interface CustosTokenContext {
  readonly keys: SigningKeyStore;
  /** The `iss` of Custos-issued tokens (Custos' public URL). */
  readonly issuer: string;
  readonly clockSkewSec: number;
  /** Milliseconds since epoch. */
  readonly clock: () => number;
}

/** RFC 8693 §4.1: the current actor outermost, prior actors nested inside. */
export function nestActors(actors: readonly string[]): Record<string, unknown> | undefined {
  let act: Record<string, unknown> | undefined;
  for (const sub of actors) act = { sub, ...(act ? { act } : {}) };
  return act;
}

/** Flattens a verified `act` claim into actor subs, oldest first. */
export function flattenActors(act: unknown): string[] {
  const out: string[] = [];
  let node = act;
  while (node !== undefined) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || out.length >= MAX_ACT_NESTING) {
      throw new CustosError('ERR_IDENTITY_CLAIM_INVALID', 'The "act" claim is invalid.', { detail: { claim: 'act' } });
    }
    const { sub, act: inner } = node as { sub?: unknown; act?: unknown };
    if (typeof sub !== 'string' || sub === '') throw new CustosError('ERR_IDENTITY_CLAIM_INVALID', 'The "act" claim is invalid.', { detail: { claim: 'act' } });
    out.unshift(sub);
    node = inner;
  }
  return out;
}

function userClaims(user: Principal): Record<string, unknown> {
  return {
    user_iss: user.iss,
    ...(user.email === undefined ? {} : { email: user.email }),
    ...(user.tenant === undefined ? {} : { tenant: user.tenant }),
    roles: [...user.roles],
    groups: [...user.groups],
    // The scope of the user's own token travels with every token minted from it: a call is
    // limited to it whatever scope a delegation names (docs/policy-bundles.md#scopes).
    user_scope: (user.userScope ?? user.scope ?? []).join(' '),
  };
}

async function sign(ctx: CustosTokenContext, typ: string, audience: string, payload: JWTPayload, expiresAt: number): Promise<{ token: string; jti: string }> {
  const { kid, alg, key } = await ctx.keys.signingKey();
  const jti = typeof payload.jti === 'string' ? payload.jti : randomUUID();
  const token = await new SignJWT({ ...payload, jti })
    .setProtectedHeader({ alg, kid, typ })
    .setIssuer(ctx.issuer)
    .setAudience(audience)
    .setIssuedAt(Math.floor(ctx.clock() / 1000))
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, jti };
}

/** The `typ` of the short-lived identity assertion an upstream may receive instead of an access token. */
export const IDENTITY_ASSERTION_TYP = 'custos-id+jwt';

/**
 * Signs a token for an upstream tool (the user's identity at the tool): `sub` the user (with
 * `user_iss`, email, tenant, roles, groups), `act` Custos itself as the current actor over the
 * agents that acted before it, `aud` the upstream. Never carries the user's original token.
 */
export function mintUpstreamToken(
  ctx: CustosTokenContext,
  audience: string,
  user: Principal,
  typ: string,
  expiresAt: number,
): Promise<{ token: string; jti: string }> {
  return sign(ctx, typ, audience, { sub: user.sub, ...userClaims(user), act: nestActors([...(user.actors ?? []), ctx.issuer]) }, expiresAt);
}

/** Signs a delegation access token for the Custos resource `audience`. */
export function mintDelegationToken(ctx: CustosTokenContext, audience: string, claims: DelegationClaims): Promise<{ token: string; jti: string }> {
  const current = claims.actors.at(-1);
  return sign(
    ctx,
    ACCESS_TOKEN_TYP,
    audience,
    {
      sub: claims.user.sub,
      ...userClaims(claims.user),
      ...(claims.user.sessionId === undefined ? {} : { sid: claims.user.sessionId }),
      ...(claims.scope === undefined ? {} : { scope: claims.scope.join(' ') }),
      ...(current === undefined ? {} : { client_id: current }),
      act: nestActors(claims.actors),
      custos_cred: claims.credential,
      ...(claims.grantId === undefined ? {} : { grant_id: claims.grantId }),
    },
    claims.expiresAt,
  );
}

/** Signs a grant token whose jti is the grant id, for the token endpoint `audience`. */
export function mintGrantToken(
  ctx: CustosTokenContext,
  audience: string,
  grant: { readonly grantId: string; readonly user: Principal; readonly clientId: string; readonly scope?: readonly string[]; readonly expiresAt: number },
): Promise<{ token: string; jti: string }> {
  return sign(
    ctx,
    GRANT_TOKEN_TYP,
    audience,
    {
      sub: grant.user.sub,
      jti: grant.grantId,
      ...userClaims(grant.user),
      client_id: grant.clientId,
      ...(grant.scope === undefined ? {} : { scope: grant.scope.join(' ') }),
    },
    grant.expiresAt,
  );
}

/** Verifies a Custos-issued token of type `typ` for `audience`; throws ERR_IDENTITY_*. */
export async function verifyCustosToken(ctx: CustosTokenContext, token: string, typ: string, audience: string): Promise<JWTPayload> {
  const getKey = async (header: JWTHeaderParameters) => {
    const found = typeof header.kid === 'string' ? await ctx.keys.verificationKey(header.kid) : undefined;
    if (!found) throw new CustosError('ERR_IDENTITY_KEY_NOT_FOUND');
    if (header.alg !== found.alg) throw new CustosError('ERR_IDENTITY_ALG_NOT_ALLOWED');
    return found.key;
  };
  try {
    const { payload } = await jwtVerify(token, getKey, {
      issuer: ctx.issuer,
      audience,
      typ,
      clockTolerance: ctx.clockSkewSec,
      currentDate: new Date(ctx.clock()),
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'user_iss'],
    });
    return payload;
  } catch (err) {
    throw mapJoseError(err);
  }
}

const USER_MAPPING = { roles: 'roles', groups: 'groups', tenant: 'tenant', email: 'email' } as const;

/** The Principal of a verified grant or delegation token: the user, with the chain as context. */
export function principalFromCustosClaims(payload: JWTPayload): Principal {
  const claims = payload as Record<string, unknown>;
  if (typeof claims.user_iss !== 'string')
    throw new CustosError('ERR_IDENTITY_CLAIM_INVALID', 'The "user_iss" claim is invalid.', { detail: { claim: 'user_iss' } });
  const base = buildPrincipal(claims, claims.user_iss, USER_MAPPING);
  const credential = claims.custos_cred;
  if (credential !== undefined && !MINTED_KINDS.includes(credential as CredentialKind)) {
    throw new CustosError('ERR_IDENTITY_CLAIM_INVALID', 'The "custos_cred" claim is invalid.', { detail: { claim: 'custos_cred' } });
  }
  const userScope = typeof claims.user_scope === 'string' ? claims.user_scope.split(' ').filter(Boolean) : undefined;
  return Object.freeze({
    ...base,
    ...(userScope === undefined ? {} : { userScope: Object.freeze(userScope) }),
    ...(credential === undefined ? {} : { credential: credential as CredentialKind }),
    ...(claims.act === undefined ? {} : { actors: Object.freeze(flattenActors(claims.act)) }),
  });
}
