/**
 * The one table mapping every kernel error code to an HTTP status and a JSON-RPC error
 * code. Front doors never invent statuses: they throw or receive a CustosError and ask
 * this table. Internal causes are logged by the caller, never returned.
 */
import { ERROR_CODES, toCustosError } from '../kernel/index.js';
import type { ErrorCode } from '../kernel/index.js';

export interface ErrorMapping {
  readonly status: number;
  /** JSON-RPC 2.0 error code (-32000…-32099 are server-defined). */
  readonly rpc: number;
  /** Seconds an HTTP answer tells the client to wait before it retries (`Retry-After`): a dependency that recovers by itself. */
  readonly retryAfterSec?: number;
}

/** JSON-RPC codes used by the table. Server-defined codes are stable: clients may switch on them. */
export const JSON_RPC_CODES = {
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  UNAUTHORIZED: -32001,
  FORBIDDEN: -32003,
  CONFIRMATION_REQUIRED: -32004,
  UPSTREAM_ERROR: -32010,
  SERVICE_UNAVAILABLE: -32020,
  RATE_LIMITED: -32029,
  /** The caller cancelled the request (as LSP's RequestCancelled). */
  REQUEST_CANCELLED: -32800,
} as const;

const R = JSON_RPC_CODES;
const UNAUTHORIZED: ErrorMapping = { status: 401, rpc: R.UNAUTHORIZED };
const INTERNAL: ErrorMapping = { status: 500, rpc: R.INTERNAL_ERROR };
/** A store that is down (PostgreSQL stopped, SQLite locked or its disk full): denied now, served again once it is back, no restart. */
const STORE_DOWN: ErrorMapping = { status: 503, rpc: R.SERVICE_UNAVAILABLE, retryAfterSec: 2 };

/** Typed as a total record: adding a kernel code without a row here fails the type check. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorMapping>> = Object.freeze({
  ERR_IDENTITY_TOKEN_MISSING: UNAUTHORIZED,
  ERR_IDENTITY_TOKEN_MALFORMED: UNAUTHORIZED,
  ERR_IDENTITY_TOKEN_TOO_LARGE: UNAUTHORIZED,
  ERR_IDENTITY_TOKEN_EXPIRED: UNAUTHORIZED,
  ERR_IDENTITY_TOKEN_NOT_YET_VALID: UNAUTHORIZED,
  ERR_IDENTITY_TOKEN_TOO_OLD: UNAUTHORIZED,
  ERR_IDENTITY_SIGNATURE_INVALID: UNAUTHORIZED,
  ERR_IDENTITY_ALG_NOT_ALLOWED: UNAUTHORIZED,
  ERR_IDENTITY_KEY_NOT_FOUND: UNAUTHORIZED,
  ERR_IDENTITY_ISSUER_UNKNOWN: UNAUTHORIZED,
  ERR_IDENTITY_AUDIENCE_MISMATCH: UNAUTHORIZED,
  ERR_IDENTITY_CLAIM_MISSING: UNAUTHORIZED,
  ERR_IDENTITY_CLAIM_INVALID: UNAUTHORIZED,
  ERR_IDENTITY_CRIT_UNSUPPORTED: UNAUTHORIZED,
  // The token could not be checked (IdP down): still no identity, so 401, and the client may retry.
  ERR_IDENTITY_JWKS_UNAVAILABLE: UNAUTHORIZED,
  ERR_IDENTITY_SESSION_MISMATCH: { status: 403, rpc: R.FORBIDDEN },
  ERR_IDENTITY_SESSION_REVOKED: UNAUTHORIZED,
  ERR_IDENTITY_SESSION_IDLE: UNAUTHORIZED,
  ERR_IDENTITY_SESSION_STORE_UNAVAILABLE: STORE_DOWN,
  ERR_IDENTITY_DELEGATION_INVALID: { status: 400, rpc: R.INVALID_REQUEST },
  ERR_IDENTITY_JOURNAL_INVALID: { status: 400, rpc: R.INVALID_REQUEST },
  ERR_IDENTITY_CLIENT_NOT_INTERACTIVE: UNAUTHORIZED,
  ERR_IDENTITY_NOT_ENTITLED: { status: 403, rpc: R.FORBIDDEN },
  ERR_IDENTITY_DEV_LOGIN_FAILED: { status: 502, rpc: R.UPSTREAM_ERROR },
  ERR_POLICY_BUNDLE_INVALID: { status: 503, rpc: R.SERVICE_UNAVAILABLE },
  ERR_POLICY_EVALUATION_FAILED: { status: 403, rpc: R.FORBIDDEN },
  ERR_POLICY_DENIED: { status: 403, rpc: R.FORBIDDEN },
  ERR_POLICY_APPROVAL_INVALID: INTERNAL,
  ERR_POLICY_BUNDLE_REFUSED: { status: 503, rpc: R.SERVICE_UNAVAILABLE },
  ERR_POLICY_CONFIRMATION_REQUIRED: { status: 403, rpc: R.CONFIRMATION_REQUIRED },
  ERR_INPUT_TOO_COMPLEX: { status: 400, rpc: R.INVALID_PARAMS },
  ERR_INPUT_INVALID: { status: 400, rpc: R.INVALID_PARAMS },
  ERR_PROTECT_FAILED: INTERNAL,
  ERR_PROTECT_TOO_LARGE: INTERNAL,
  ERR_AUDIT_UNAVAILABLE: STORE_DOWN,
  ERR_AUDIT_CHAIN_BROKEN: INTERNAL,
  ERR_AUDIT_STORE_INVALID: INTERNAL,
  ERR_EXPORT_DELIVERY_FAILED: INTERNAL, // never an answer: a sink's status (readiness, custos audit sinks)
  ERR_AUDIT_DECRYPT_FAILED: INTERNAL,
  ERR_AUDIT_PURGE_REFUSED: INTERNAL,
  ERR_KEY_UNKNOWN: INTERNAL,
  ERR_KEY_INVALID: INTERNAL,
  ERR_GATEWAY_BAD_REQUEST: { status: 400, rpc: R.INVALID_REQUEST },
  ERR_GATEWAY_NOT_FOUND: { status: 404, rpc: R.INVALID_PARAMS },
  ERR_GATEWAY_UPSTREAM_UNAVAILABLE: { status: 502, rpc: R.UPSTREAM_ERROR },
  ERR_GATEWAY_UPSTREAM_FAILED: { status: 502, rpc: R.UPSTREAM_ERROR },
  ERR_GATEWAY_PROVIDER_FAILED: { status: 502, rpc: R.UPSTREAM_ERROR },
  ERR_UPSTREAM_TLS_PIN_MISMATCH: { status: 502, rpc: R.UPSTREAM_ERROR },
  ERR_UPSTREAM_ADDRESS_BLOCKED: { status: 502, rpc: R.UPSTREAM_ERROR },
  ERR_UPSTREAM_IDENTITY_UNAVAILABLE: { status: 502, rpc: R.UPSTREAM_ERROR },
  ERR_GATEWAY_PAYLOAD_TOO_LARGE: { status: 413, rpc: R.INVALID_REQUEST },
  ERR_GATEWAY_SESSION_LIMIT: { status: 503, rpc: R.SERVICE_UNAVAILABLE },
  ERR_GATEWAY_SESSION_STORE_UNAVAILABLE: STORE_DOWN,
  ERR_GATEWAY_PENDING_STORE_UNAVAILABLE: STORE_DOWN,
  ERR_GATEWAY_CONFLICT: { status: 409, rpc: R.INVALID_REQUEST },
  ERR_GATEWAY_CANCELLED: { status: 499, rpc: R.REQUEST_CANCELLED },
  ERR_GATEWAY_CAPABILITY_UNSUPPORTED: { status: 501, rpc: R.METHOD_NOT_FOUND },
  ERR_GATEWAY_RATE_LIMITED: { status: 429, rpc: R.RATE_LIMITED },
  ERR_CONFIG_INVALID: INTERNAL,
  ERR_CONFIG_SECRET_UNRESOLVED: INTERNAL,
  ERR_INTERNAL: INTERNAL,
});

export interface HttpError {
  readonly status: number;
  /** Headers the answer carries (`retry-after` for a store that is down). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: { readonly code: ErrorCode; readonly message: string; readonly detail?: Readonly<Record<string, unknown>> } };
}

export interface JsonRpcError {
  readonly code: number;
  readonly message: string;
  readonly data: { readonly code: ErrorCode; readonly detail?: Readonly<Record<string, unknown>> };
}

/** Looks a code up; anything unknown maps like ERR_INTERNAL. */
export function mapErrorCode(code: string): ErrorMapping {
  return Object.hasOwn(ERROR_TABLE, code) ? ERROR_TABLE[code as ErrorCode] : INTERNAL;
}

interface SafeError {
  code: ErrorCode;
  message: string;
  detail?: Readonly<Record<string, unknown>>;
  mapping: ErrorMapping;
}

/** What may be shown to a caller: a 5xx-class internal error gets only the generic text. */
function describeSafely(err: unknown): SafeError {
  const e = toCustosError(err);
  const code: ErrorCode = Object.hasOwn(ERROR_TABLE, e.code) ? e.code : 'ERR_INTERNAL';
  const mapping = ERROR_TABLE[code];
  if (mapping.status === 500) return { code, message: ERROR_CODES[code], mapping };
  return { code, message: e.message, detail: e.detail, mapping };
}

export function toHttpError(err: unknown): HttpError {
  const { code, message, detail, mapping } = describeSafely(err);
  const headers: Record<string, string> = mapping.retryAfterSec === undefined ? {} : { 'retry-after': String(mapping.retryAfterSec) };
  return { status: mapping.status, headers, body: { error: detail ? { code, message, detail } : { code, message } } };
}

export function toJsonRpcError(err: unknown): JsonRpcError {
  const { code, message, detail, mapping } = describeSafely(err);
  return { code: mapping.rpc, message, data: detail ? { code, detail } : { code } };
}

/** docs/errors.md, generated from the kernel codes and this table (`npm run gen`). */
export function generateErrorsDoc(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => {
    const { status, rpc, retryAfterSec } = ERROR_TABLE[code];
    return `| \`${code}\` | ${status} | ${retryAfterSec ?? ''} | ${rpc} | ${ERROR_CODES[code]} |`;
  });
  return [
    '# Error codes',
    '',
    '<!-- Generated by `npm run gen` from src/kernel/errors.ts and src/gateway/errors.ts; a test fails when it is stale. -->',
    '',
    'Every error Custos raises on purpose has a stable code. HTTP answers carry',
    '`{"error": {"code", "message", "detail"?}}`; MCP answers carry a JSON-RPC error whose',
    '`data.code` is the same code. Messages never contain tokens, secrets or payloads; a',
    '500-class error shows only the generic message (its cause goes to the process log).',
    'An HTTP answer for a store that is down (a `503` with `Retry-After`) asks the client to retry after',
    'that many seconds: Custos serves again once the store is back, without a restart.',
    '',
    '| code | HTTP | Retry-After | JSON-RPC | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
