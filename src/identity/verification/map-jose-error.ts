/**
 * Maps jose's error codes to Custos codes. jose errors carry the claims set (`payload`),
 * so they are never attached as `cause`: only the jose code travels, in `detail`.
 */
import { CustosError, isCustosError } from '../../kernel/index.js';
import type { ErrorCode } from '../../kernel/index.js';

interface JoseLike {
  readonly code?: unknown;
  readonly claim?: unknown;
  readonly reason?: unknown;
  readonly message?: unknown;
}

function mapClaimFailure(err: JoseLike): ErrorCode {
  if (err.reason === 'missing') return 'ERR_IDENTITY_CLAIM_MISSING';
  switch (err.claim) {
    case 'nbf':
      return 'ERR_IDENTITY_TOKEN_NOT_YET_VALID';
    case 'iat':
      return err.reason === 'check_failed' ? 'ERR_IDENTITY_TOKEN_NOT_YET_VALID' : 'ERR_IDENTITY_CLAIM_INVALID';
    case 'aud':
      return 'ERR_IDENTITY_AUDIENCE_MISMATCH';
    case 'iss':
      return 'ERR_IDENTITY_ISSUER_UNKNOWN';
    default:
      return 'ERR_IDENTITY_CLAIM_INVALID';
  }
}

function mapCode(err: JoseLike): ErrorCode {
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      // jose raises JWTExpired for both `exp` and a maxTokenAge overrun (claim `iat`).
      return err.claim === 'iat' ? 'ERR_IDENTITY_TOKEN_TOO_OLD' : 'ERR_IDENTITY_TOKEN_EXPIRED';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return mapClaimFailure(err);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'ERR_IDENTITY_SIGNATURE_INVALID';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'ERR_IDENTITY_TOKEN_MALFORMED';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'ERR_IDENTITY_ALG_NOT_ALLOWED';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return typeof err.message === 'string' && err.message.includes('Extension Header Parameter')
        ? 'ERR_IDENTITY_CRIT_UNSUPPORTED'
        : 'ERR_IDENTITY_ALG_NOT_ALLOWED';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'ERR_IDENTITY_KEY_NOT_FOUND';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return 'ERR_IDENTITY_JWKS_UNAVAILABLE';
    case 'ERR_JWK_INVALID':
      return 'ERR_IDENTITY_KEY_NOT_FOUND';
    default:
      return 'ERR_IDENTITY_SIGNATURE_INVALID';
  }
}

/** Any failure inside jwtVerify becomes a CustosError; unknown failures deny as SIGNATURE_INVALID. */
export function mapJoseError(err: unknown): CustosError {
  if (isCustosError(err)) return err;
  const jose = (typeof err === 'object' && err !== null ? err : {}) as JoseLike;
  const code = mapCode(jose);
  const detail: Record<string, unknown> = {};
  if (typeof jose.code === 'string') detail.jose = jose.code;
  if (typeof jose.claim === 'string' && /^[A-Za-z0-9_]{1,32}$/.test(jose.claim)) detail.claim = jose.claim;
  return new CustosError(code, undefined, { detail });
}
