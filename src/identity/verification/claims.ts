/** Turns a verified claims set into a kernel Principal using an issuer's claim mapping. */
import { CustosError, isRecord } from '../../kernel/index.js';
import type { Principal } from '../../kernel/index.js';
import type { ClaimMapping } from './types.js';
import { findMachineMarker } from './machine-token.js';

type Claims = Readonly<Record<string, unknown>>;

/**
 * Reads a claim by dotted path. A key that itself contains dots (Auth0's
 * `https://example.com/roles`) is tried whole first, then the longest matching prefix.
 * Only own properties are read.
 */
export function readClaimPath(claims: unknown, path: string): unknown {
  if (!isRecord(claims) || path === '') return undefined;
  if (Object.hasOwn(claims, path)) return claims[path];
  for (let dot = path.lastIndexOf('.'); dot > 0; dot = path.lastIndexOf('.', dot - 1)) {
    const head = path.slice(0, dot);
    if (Object.hasOwn(claims, head)) {
      const found = readClaimPath(claims[head], path.slice(dot + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function invalid(claim: string): never {
  throw new CustosError('ERR_IDENTITY_CLAIM_INVALID', `The "${claim}" claim has an invalid type.`, {
    detail: { claim },
  });
}

function readStringList(claims: Claims, path: string | undefined, what: string): string[] {
  if (path === undefined) return [];
  const value = readClaimPath(claims, path);
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) invalid(what);
  return [...new Set(value as string[])];
}

function readOptionalString(claims: Claims, path: string | undefined, what: string): string | undefined {
  if (path === undefined) return undefined;
  const value = readClaimPath(claims, path);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') invalid(what);
  return value;
}

function readOptionalNumber(claims: Claims, name: string): number | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) invalid(name);
  return value;
}

/** OAuth scope: a space-delimited `scope` string (RFC 8693/9068) or an `scp` list (Entra, Okta). */
export function readScope(claims: Claims): string[] | undefined {
  const raw = claims.scope ?? claims.scp;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return [...new Set(raw.split(' ').filter(Boolean))];
  if (!Array.isArray(raw) || raw.some((item) => typeof item !== 'string')) invalid('scope');
  return [...new Set(raw as string[])];
}

function readSubject(claims: Claims): string {
  const sub = claims.sub;
  if (sub === undefined || sub === null || sub === '') {
    throw new CustosError('ERR_IDENTITY_CLAIM_MISSING', 'The token has no "sub" claim.', { detail: { claim: 'sub' } });
  }
  if (typeof sub !== 'string') invalid('sub');
  return sub;
}

function freezeOptional<T>(value: readonly T[] | undefined): readonly T[] | undefined {
  return value === undefined ? undefined : Object.freeze([...value]);
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Builds the Principal; throws ERR_IDENTITY_CLAIM_MISSING / ERR_IDENTITY_CLAIM_INVALID, never echoing values. */
export function buildPrincipal(claims: Claims, issuer: string, mapping: ClaimMapping): Principal {
  const sub = readSubject(claims);
  const clientId =
    mapping.clientId === undefined
      ? (readOptionalString(claims, 'client_id', 'client_id') ?? readOptionalString(claims, 'azp', 'azp'))
      : readOptionalString(claims, mapping.clientId, 'clientId');
  const principal: Principal = {
    sub,
    iss: issuer,
    email: readOptionalString(claims, mapping.email ?? 'email', 'email'),
    tenant: readOptionalString(claims, mapping.tenant, 'tenant'),
    roles: Object.freeze(readStringList(claims, mapping.roles, 'roles')),
    groups: Object.freeze(readStringList(claims, mapping.groups, 'groups')),
    sessionId: readOptionalString(claims, 'sid', 'sid'),
    clientId,
    machine: findMachineMarker(claims, sub, clientId),
    tokenId: readOptionalString(claims, 'jti', 'jti'),
    issuedAt: readOptionalNumber(claims, 'iat'),
    expiresAt: readOptionalNumber(claims, 'exp'),
    scope: freezeOptional(readScope(claims)),
  };
  return Object.freeze(compact(principal));
}
