/**
 * Reads a compact JWS without trusting it: only to pick the issuer and pre-check the
 * header. Nothing here is a verification; the signature is checked by jose afterwards.
 */
import { CustosError } from '../../kernel/index.js';

/** Tokens above this many bytes are refused before any parsing. */
export const MAX_TOKEN_BYTES = 16 * 1024;

export interface UnverifiedToken {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeSegment(segment: string): Record<string, unknown> {
  if (segment === '' || !BASE64URL.test(segment)) throw new CustosError('ERR_IDENTITY_TOKEN_MALFORMED');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new CustosError('ERR_IDENTITY_TOKEN_MALFORMED');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CustosError('ERR_IDENTITY_TOKEN_MALFORMED');
  }
  return parsed as Record<string, unknown>;
}

/** Size check, shape check and unverified decode of header and payload. */
export function decodeUnverified(token: unknown): UnverifiedToken {
  if (typeof token !== 'string' || token === '') throw new CustosError('ERR_IDENTITY_TOKEN_MISSING');
  // Length in UTF-16 units bounds the work before we count bytes exactly.
  if (token.length > MAX_TOKEN_BYTES || Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
    throw new CustosError('ERR_IDENTITY_TOKEN_TOO_LARGE', undefined, { detail: { maxBytes: MAX_TOKEN_BYTES } });
  }
  const parts = token.split('.');
  if (parts.length !== 3) throw new CustosError('ERR_IDENTITY_TOKEN_MALFORMED');
  const [header, payload, signature] = parts as [string, string, string];
  if (!BASE64URL.test(signature)) throw new CustosError('ERR_IDENTITY_TOKEN_MALFORMED');
  return { header: decodeSegment(header), payload: decodeSegment(payload) };
}

/** Refuses what no issuer may use, whatever its configuration: `none`, HS*, and any `crit` extension. */
export function checkHeader(header: Readonly<Record<string, unknown>>, allowed: readonly string[]): void {
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') throw new CustosError('ERR_IDENTITY_TOKEN_MALFORMED');
  if (alg.toLowerCase() === 'none' || /^HS/i.test(alg) || !allowed.includes(alg)) {
    throw new CustosError('ERR_IDENTITY_ALG_NOT_ALLOWED', undefined, { detail: { alg: safeAlg(alg) } });
  }
  if (header.crit !== undefined) throw new CustosError('ERR_IDENTITY_CRIT_UNSUPPORTED');
  if (header.kid !== undefined && typeof header.kid !== 'string') throw new CustosError('ERR_IDENTITY_TOKEN_MALFORMED');
}

/** The alg name is header metadata, not a claim value; still, only echo it when it is a short token. */
function safeAlg(alg: string): string {
  return /^[A-Za-z0-9-]{1,16}$/.test(alg) ? alg : 'unrecognised';
}
