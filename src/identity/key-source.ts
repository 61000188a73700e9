/**
 * One issuer's signing keys: a jose remote JWKS (explicit `jwksUri`, or found by OIDC
 * discovery), with fetch timeouts and jose's refetch cooldown. Key failures become
 * ERR_IDENTITY_KEY_NOT_FOUND or ERR_IDENTITY_JWKS_UNAVAILABLE before jose sees them.
 */
import { createRemoteJWKSet } from 'jose';
import type { JWTHeaderParameters, FlattenedJWSInput, CryptoKey } from 'jose';
import { CustosError } from '../kernel/index.js';
import type { ResolvedIssuer } from './issuer-config.js';

export interface KeySourceOptions {
  readonly fetchTimeoutMs: number;
  readonly cooldownMs: number;
  readonly cacheMaxAgeMs: number;
}

export interface KeySource {
  getKey(header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
  close(): void;
}

type RemoteSet = ReturnType<typeof createRemoteJWKSet>;

/** After a failed discovery, wait this long (at most) before asking again. */
const DISCOVERY_RETRY_MS = 5000;

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

function unavailable(cause?: unknown): CustosError {
  return new CustosError('ERR_IDENTITY_JWKS_UNAVAILABLE', undefined, cause === undefined ? undefined : { cause });
}

/** Fetches the discovery document and returns its jwks_uri; the document must name the same issuer. */
export async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  let body: unknown;
  try {
    const response = await fetch(discoveryUrl(issuer), {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
    if (response.status !== 200) throw unavailable();
    body = await response.json();
  } catch (err) {
    throw err instanceof CustosError ? err : unavailable(err);
  }
  const doc = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (doc.issuer !== issuer || typeof doc.jwks_uri !== 'string') throw unavailable();
  const url = new URL(doc.jwks_uri);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw unavailable();
  return url.href;
}

function wrapKeyError(err: unknown): CustosError {
  if (err instanceof CustosError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
    case 'ERR_JWK_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new CustosError('ERR_IDENTITY_KEY_NOT_FOUND', undefined, { detail: { jose: code } });
    default:
      // timeouts, network errors, non-200 answers, a body that is not a JWKS
      return unavailable(err);
  }
}

export function createKeySource(issuer: ResolvedIssuer, options: KeySourceOptions): KeySource {
  let closed = false;
  let pending: Promise<RemoteSet> | undefined;
  let failedAt = -Infinity;

  const build = (uri: string): RemoteSet =>
    createRemoteJWKSet(new URL(uri), {
      timeoutDuration: options.fetchTimeoutMs,
      cooldownDuration: options.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs,
    });

  const resolveSet = (): Promise<RemoteSet> => {
    if (pending) return pending;
    if (Date.now() - failedAt < Math.min(options.cooldownMs, DISCOVERY_RETRY_MS)) return Promise.reject(unavailable());
    const next = issuer.jwksUri
      ? Promise.resolve(build(issuer.jwksUri))
      : discoverJwksUri(issuer.issuer, options.fetchTimeoutMs).then(build);
    pending = next.catch((err: unknown) => {
      pending = undefined;
      failedAt = Date.now();
      throw err;
    });
    return pending;
  };

  return {
    async getKey(header, token) {
      if (closed) throw unavailable();
      try {
        const set = await resolveSet();
        return await set(header, token);
      } catch (err) {
        throw wrapKeyError(err);
      }
    },
    close() {
      closed = true;
      pending = undefined;
    },
  };
}
