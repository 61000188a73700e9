/**
 * Which tools may fail open, as Custos signed it while reachable: fetched with the journal
 * key, verified against Custos' JWKS, kept beside the journal, and verified again (signature,
 * issuer, audience, expiry) every time it is used during an outage.
 */
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { requestJson } from './http.js';
import type { HttpSettings } from './http.js';
import type { Journal, StoredMetadata } from './journal.js';

export const FAILOPEN_METADATA_TYP = 'custos-failopen+jwt';

export interface FailOpenMetadata {
  readonly raw: string;
  readonly jti: string;
  /** The user the metadata was issued for (`sub`). */
  readonly sub: string;
  readonly bundleHash: string;
  /** `server/name` keys. */
  readonly tools: ReadonlySet<string>;
  /** Milliseconds since epoch. */
  readonly fetchedAt: number;
  readonly expiresAt: number;
}

/** Verifies stored metadata at `nowMs`; undefined when it does not verify or has expired (the caller fails closed). */
export async function verifyMetadata(baseUrl: string, stored: StoredMetadata, nowMs: number): Promise<FailOpenMetadata | undefined> {
  try {
    const { payload } = await jwtVerify(stored.metadata, createLocalJWKSet(stored.jwks as JSONWebKeySet), {
      issuer: baseUrl,
      audience: `${baseUrl}/v1/failopen`,
      typ: FAILOPEN_METADATA_TYP,
      currentDate: new Date(nowMs),
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
    });
    const tools = Array.isArray(payload.fail_open) ? payload.fail_open.filter((t): t is string => typeof t === 'string') : [];
    return {
      raw: stored.metadata,
      jti: payload.jti!,
      sub: payload.sub!,
      bundleHash: String(payload.bundle_hash),
      tools: new Set(tools),
      fetchedAt: payload.iat! * 1000,
      expiresAt: payload.exp! * 1000,
    };
  } catch {
    return undefined;
  }
}

/** Fetches fresh metadata for the journal key and Custos' JWKS, verifies and stores them. */
export async function fetchMetadata(
  http: HttpSettings,
  token: string,
  journal: Journal,
  agent: { name: string },
  nowMs: number,
): Promise<FailOpenMetadata | undefined> {
  const answer = await requestJson(http, '/v1/failopen/metadata', token, { journal_key: journal.publicJwk, agent: { name: agent.name } });
  const jwks = (await requestJson(http, '/.well-known/jwks.json', undefined)) as unknown as StoredMetadata['jwks'];
  const stored = { metadata: String(answer.metadata), jwks };
  const verified = await verifyMetadata(http.baseUrl, stored, nowMs);
  if (verified) journal.saveMetadata(stored);
  return verified;
}

/** The `sub` of a bearer token, read without verification (only to match it with the metadata's user). */
export function tokenSubject(token: string): string | undefined {
  try {
    return decodeJwt(token).sub;
  } catch {
    return undefined;
  }
}
