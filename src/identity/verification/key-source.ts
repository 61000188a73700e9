/**
 * One issuer's signing keys: a jose remote JWKS (explicit `jwksUri`, or found by OIDC
 * discovery), with fetch timeouts and jose's refetch cooldown. Key failures become
 * ERR_IDENTITY_KEY_NOT_FOUND or ERR_IDENTITY_JWKS_UNAVAILABLE before jose sees them.
 * A failed or timed-out fetch is remembered for `failureRetryMs` (the negative cache): new
 * tokens from that issuer are refused at once instead of each waiting the fetch timeout,
 * and after the window one request (the probe) tries again while the others keep failing fast.
 */
import { createRemoteJWKSet, customFetch } from 'jose';
import type { JWTHeaderParameters, FlattenedJWSInput, CryptoKey } from 'jose';
import { CustosError } from '../../kernel/index.js';
import type { ResolvedIssuer } from './issuer-config.js';
import type { IssuerFetch } from './types.js';

export interface KeySourceOptions {
  readonly fetchTimeoutMs: number;
  readonly cooldownMs: number;
  readonly cacheMaxAgeMs: number;
  /** How long a failed discovery or JWKS fetch is remembered before one request retries (0: no negative cache). */
  readonly failureRetryMs: number;
  /** Milliseconds since epoch (default Date.now). */
  readonly now?: () => number;
  /** Fetches discovery and the JWKS (default: the global fetch). */
  readonly fetch?: IssuerFetch;
}

export interface KeySource {
  getKey(header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
  close(): void;
}

type RemoteSet = ReturnType<typeof createRemoteJWKSet>;

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

function unavailable(cause?: unknown): CustosError {
  return new CustosError('ERR_IDENTITY_JWKS_UNAVAILABLE', undefined, cause === undefined ? undefined : { cause });
}

/** Fetches the discovery document and returns its jwks_uri; the document must name the same issuer. */
export async function discoverJwksUri(issuer: string, timeoutMs: number, fetcher: IssuerFetch = fetch): Promise<string> {
  let body: unknown;
  try {
    const response = await fetcher(discoveryUrl(issuer), {
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

/**
 * The negative cache: after a failure, `admit` refuses until the window has passed, then
 * lets exactly one request through (the probe) and refuses the rest until it settles.
 */
interface FailureMemory {
  /** Throws the fail-fast refusal, or returns true when this request is the probe. */
  admit(): boolean;
  /** Records the outcome of an admitted request (probe or not). */
  settle(probe: boolean, failed: boolean): void;
  reset(): void;
}

function createFailureMemory(retryMs: number, now: () => number): FailureMemory {
  let failedAt: number | undefined;
  let probing = false;
  return {
    admit() {
      if (failedAt === undefined) return false;
      const waitMs = failedAt + retryMs - now();
      if (waitMs > 0 || probing) {
        throw new CustosError('ERR_IDENTITY_JWKS_UNAVAILABLE', 'The issuer JWKS failed moments ago; Custos retries it shortly.', {
          detail: { retry_after_ms: Math.max(0, waitMs) },
        });
      }
      probing = true;
      return true;
    },
    settle(probe, failed) {
      if (probe) probing = false;
      if (failed) failedAt = now();
      else if (probe) failedAt = undefined;
    },
    reset() {
      failedAt = undefined;
      probing = false;
    },
  };
}

/** A failure that says the issuer could not be reached (not an unknown kid). */
function isFetchFailure(err: CustosError): boolean {
  return err.code === 'ERR_IDENTITY_JWKS_UNAVAILABLE';
}

export function createKeySource(issuer: ResolvedIssuer, options: KeySourceOptions): KeySource {
  let closed = false;
  let pending: Promise<RemoteSet> | undefined;
  const memory = createFailureMemory(options.failureRetryMs, options.now ?? Date.now);

  const build = (uri: string): RemoteSet =>
    createRemoteJWKSet(new URL(uri), {
      timeoutDuration: options.fetchTimeoutMs,
      cooldownDuration: options.cooldownMs,
      cacheMaxAge: options.cacheMaxAgeMs,
      ...(options.fetch ? { [customFetch]: options.fetch } : {}),
    });

  const resolveSet = (): Promise<RemoteSet> => {
    if (pending) return pending;
    const next = issuer.jwksUri ? Promise.resolve(build(issuer.jwksUri)) : discoverJwksUri(issuer.issuer, options.fetchTimeoutMs, options.fetch).then(build);
    pending = next.catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };

  return {
    async getKey(header, token) {
      if (closed) throw unavailable();
      const probe = memory.admit();
      try {
        const set = await resolveSet();
        const key = await set(header, token);
        memory.settle(probe, false);
        return key;
      } catch (err) {
        const wrapped = wrapKeyError(err);
        memory.settle(probe, isFetchFailure(wrapped));
        throw wrapped;
      }
    },
    close() {
      closed = true;
      pending = undefined;
      memory.reset();
    },
  };
}
