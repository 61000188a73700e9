/**
 * createTokenVerifier: the kernel TokenVerifier port over jose. A token is checked in
 * this order: size, shape, issuer (by unverified `iss`), header (alg allow-list, crit),
 * signature against the issuer's JWKS, registered claims, `sub`, then mapped to a Principal.
 */
import { jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import { CustosError } from '../../kernel/index.js';
import type { Principal } from '../../kernel/index.js';
import { buildPrincipal } from './claims.js';
import { rememberPresentedToken } from './presented-token.js';
import { checkHeader, decodeUnverified } from './decode-token.js';
import { resolveIssuers } from './issuer-config.js';
import type { ResolvedIssuer } from './issuer-config.js';
import { createKeySource } from './key-source.js';
import type { KeySource } from './key-source.js';
import { mapJoseError } from './map-jose-error.js';
import { createVerifiedTokenCache } from './verified-token-cache.js';
import type { VerifiedToken } from './verified-token-cache.js';
import type { ClosableTokenVerifier, IssuerConfig, TokenVerifierOptions } from './types.js';

/** A verified token is served from memory at most this long after its full verification. */
const VERIFIED_TOKEN_MAX_AGE_MS = 60_000;

interface IssuerEntry {
  readonly config: ResolvedIssuer;
  readonly keys: KeySource;
}

function checkPositive(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw new CustosError('ERR_CONFIG_INVALID', `identity: ${name} must be a non-negative integer`);
  }
}

function pickIssuer(issuers: ReadonlyMap<string, IssuerEntry>, payload: Readonly<Record<string, unknown>>): IssuerEntry {
  const iss = payload.iss;
  if (typeof iss !== 'string') {
    throw new CustosError('ERR_IDENTITY_ISSUER_UNKNOWN', 'The token has no usable "iss" claim.');
  }
  const entry = issuers.get(iss);
  if (!entry) throw new CustosError('ERR_IDENTITY_ISSUER_UNKNOWN');
  return entry;
}

/** jose only checks a future `iat` when maxTokenAge is set; Custos always does. */
function checkIssuedAt(payload: JWTPayload, nowSec: number, skewSec: number): void {
  if (typeof payload.iat === 'number' && payload.iat > nowSec + skewSec) {
    throw new CustosError('ERR_IDENTITY_TOKEN_NOT_YET_VALID', undefined, { detail: { claim: 'iat' } });
  }
}

/** A bearer token at a front door must come from a client registered as interactive (when the issuer lists them). */
function checkInteractiveClient(config: ResolvedIssuer, principal: Principal): void {
  if (config.interactiveClients === undefined) return;
  if (principal.clientId === undefined || !config.interactiveClients.includes(principal.clientId)) {
    throw new CustosError('ERR_IDENTITY_CLIENT_NOT_INTERACTIVE');
  }
}

async function verifyWith(entry: IssuerEntry, token: string, nowMs: number): Promise<Principal> {
  const { config } = entry;
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, entry.keys.getKey, {
      issuer: config.issuer,
      audience: [...config.audience],
      algorithms: [...config.algorithms],
      clockTolerance: config.clockSkewSec,
      currentDate: new Date(nowMs),
      requiredClaims: [...config.requiredClaims],
      ...(config.maxTokenAgeSec === undefined ? {} : { maxTokenAge: config.maxTokenAgeSec }),
    }));
  } catch (err) {
    throw mapJoseError(err);
  }
  checkIssuedAt(payload, Math.floor(nowMs / 1000), config.clockSkewSec);
  return buildPrincipal(payload as Record<string, unknown>, config.issuer, config.claims);
}

/**
 * Validates the issuer list at construction (throws ERR_CONFIG_INVALID) and returns a
 * verifier whose `verify` resolves to a Principal or rejects with an ERR_IDENTITY_* CustosError.
 * `verify` is for bearer tokens at the front doors (the issuer's `interactiveClients` rule
 * applies); `verifyActor` is for an agent's own credential in a token exchange (it does not).
 */
export function createTokenVerifier(issuers: readonly IssuerConfig[], options: TokenVerifierOptions = {}): ClosableTokenVerifier {
  checkPositive(options.fetchTimeoutMs, 'fetchTimeoutMs');
  checkPositive(options.jwksCooldownMs, 'jwksCooldownMs');
  checkPositive(options.jwksCacheMaxAgeMs, 'jwksCacheMaxAgeMs');
  checkPositive(options.jwksFailureRetryMs, 'jwksFailureRetryMs');
  checkPositive(options.verifiedTokenCacheSize, 'verifiedTokenCacheSize');
  const clock = options.clock ?? Date.now;
  const keyOptions = {
    fetchTimeoutMs: options.fetchTimeoutMs ?? 5000,
    cooldownMs: options.jwksCooldownMs ?? 30_000,
    cacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? 600_000,
    failureRetryMs: options.jwksFailureRetryMs ?? 5000,
    now: clock,
  };
  const entries = new Map<string, IssuerEntry>();
  for (const [iss, config] of resolveIssuers(issuers)) {
    const fetch = options.fetchFor?.(config.issuer);
    entries.set(iss, { config, keys: createKeySource(config, fetch ? { ...keyOptions, fetch } : keyOptions) });
  }

  const verified = createVerifiedTokenCache({
    maxEntries: options.verifiedTokenCacheSize ?? 10_000,
    maxAgeMs: Math.min(VERIFIED_TOKEN_MAX_AGE_MS, keyOptions.cacheMaxAgeMs),
  });
  let closed = false;

  async function verifyAny(token: string): Promise<VerifiedToken> {
    const nowMs = clock();
    const hit = verified.get(token, nowMs);
    if (hit) return hit;
    const { header, payload } = decodeUnverified(token);
    const entry = pickIssuer(entries, payload);
    checkHeader(header, entry.config.algorithms);
    const result = { principal: await verifyWith(entry, token, nowMs), config: entry.config };
    if (!closed) verified.put(token, result, nowMs);
    return result;
  }

  return {
    async verify(token: string): Promise<Principal> {
      const { principal, config } = await verifyAny(token);
      checkInteractiveClient(config, principal);
      rememberPresentedToken(principal, token);
      return principal;
    },
    async verifyActor(token: string): Promise<Principal> {
      return (await verifyAny(token)).principal;
    },
    close(): void {
      closed = true;
      verified.clear();
      for (const entry of entries.values()) entry.keys.close();
    },
  };
}
