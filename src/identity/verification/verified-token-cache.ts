/**
 * A bounded LRU of tokens that passed full verification, keyed by the SHA-256 of the exact
 * token string (the raw bearer token is not kept as a key). A hit skips only the signature
 * and claim checks jose already made for these exact bytes; it is served only while every
 * time check would still pass (before `exp` + skew, within `maxTokenAgeSec`, clock not gone
 * backwards, entry younger than `maxAgeMs`), else the token is verified again in full.
 * Revocation, session and idle checks are not the verifier's: they run on every request.
 * Failures are never cached.
 */
import { createHash } from 'node:crypto';
import type { Principal } from '../../kernel/index.js';
import type { ResolvedIssuer } from './issuer-config.js';

export interface VerifiedToken {
  readonly principal: Principal;
  readonly config: ResolvedIssuer;
}

interface Entry extends VerifiedToken {
  /** Epoch seconds (exclusive) until which a hit may be served. */
  readonly validUntilSec: number;
  readonly verifiedAtMs: number;
}

export interface VerifiedTokenCache {
  get(token: string, nowMs: number): VerifiedToken | undefined;
  put(token: string, verified: VerifiedToken, nowMs: number): void;
  clear(): void;
  readonly size: number;
}

export interface VerifiedTokenCacheOptions {
  /** Most entries kept; 0 turns the cache off. */
  readonly maxEntries: number;
  /** Longest an entry is served after its verification, whatever its `exp`. */
  readonly maxAgeMs: number;
}

const keyOf = (token: string): string => createHash('sha256').update(token, 'utf8').digest('base64url');

/** Epoch seconds until which the time checks of a full verification would still pass; undefined: do not cache. */
function validUntil(verified: VerifiedToken): number | undefined {
  const { principal, config } = verified;
  if (principal.expiresAt === undefined) return undefined;
  let until = principal.expiresAt + config.clockSkewSec;
  if (config.maxTokenAgeSec !== undefined) {
    if (principal.issuedAt === undefined) return undefined;
    until = Math.min(until, principal.issuedAt + config.maxTokenAgeSec + config.clockSkewSec);
  }
  return until;
}

export function createVerifiedTokenCache(options: VerifiedTokenCacheOptions): VerifiedTokenCache {
  const entries = new Map<string, Entry>();
  return {
    get(token, nowMs) {
      if (options.maxEntries <= 0) return undefined;
      const key = keyOf(token);
      const entry = entries.get(key);
      if (!entry) return undefined;
      const fresh = nowMs >= entry.verifiedAtMs && nowMs - entry.verifiedAtMs < options.maxAgeMs && Math.floor(nowMs / 1000) < entry.validUntilSec;
      entries.delete(key);
      if (!fresh) return undefined;
      entries.set(key, entry); // most recently used last
      return entry;
    },
    put(token, verified, nowMs) {
      if (options.maxEntries <= 0) return;
      const validUntilSec = validUntil(verified);
      if (validUntilSec === undefined) return;
      const key = keyOf(token);
      entries.delete(key);
      entries.set(key, { ...verified, validUntilSec, verifiedAtMs: nowMs });
      while (entries.size > options.maxEntries) entries.delete(entries.keys().next().value as string);
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}
