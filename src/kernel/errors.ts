/**
 * One base class for every error Custos raises on purpose. `code` is stable and
 * documented in docs/errors.md; `message` never contains a token, a secret or a payload.
 * The gateway maps codes to HTTP status and JSON-RPC errors (src/gateway/errors.ts).
 */
export const ERROR_CODES = {
  // identity
  ERR_IDENTITY_TOKEN_MISSING: 'No bearer token was presented.',
  ERR_IDENTITY_TOKEN_MALFORMED: 'The bearer token is not a well-formed JWT.',
  ERR_IDENTITY_TOKEN_TOO_LARGE: 'The bearer token is larger than the accepted maximum.',
  ERR_IDENTITY_TOKEN_EXPIRED: 'The token has expired.',
  ERR_IDENTITY_TOKEN_NOT_YET_VALID: 'The token is not valid yet (nbf or iat in the future).',
  ERR_IDENTITY_TOKEN_TOO_OLD: 'The token was issued longer ago than the maximum token age.',
  ERR_IDENTITY_SIGNATURE_INVALID: 'The token signature does not verify.',
  ERR_IDENTITY_ALG_NOT_ALLOWED: 'The token is signed with an algorithm the issuer does not allow.',
  ERR_IDENTITY_KEY_NOT_FOUND: 'No key in the issuer JWKS matches the token kid.',
  ERR_IDENTITY_ISSUER_UNKNOWN: 'The token issuer is not configured.',
  ERR_IDENTITY_AUDIENCE_MISMATCH: 'The token audience does not include this resource.',
  ERR_IDENTITY_CLAIM_MISSING: 'A required claim is missing from the token.',
  ERR_IDENTITY_CLAIM_INVALID: 'A claim in the token has an invalid value.',
  ERR_IDENTITY_CRIT_UNSUPPORTED: 'The token carries a critical header Custos does not understand.',
  ERR_IDENTITY_JWKS_UNAVAILABLE: 'The issuer JWKS could not be fetched in time.',
  ERR_IDENTITY_SESSION_MISMATCH: 'The MCP session belongs to another user.',
  ERR_IDENTITY_SESSION_REVOKED: 'The session was revoked; sign in again.',
  ERR_IDENTITY_SESSION_IDLE: 'The session was idle past the automatic logoff; sign in again.',
  ERR_IDENTITY_SESSION_STORE_UNAVAILABLE:
    'The session store (revocations, activity) could not be reached, so the session cannot be checked; the call is denied. Check that identity.sessions.store (by default the audit store) is up, then retry.',
  ERR_IDENTITY_DELEGATION_INVALID: 'The delegation is not allowed (tokens, scope or depth).',
  ERR_IDENTITY_CLIENT_NOT_INTERACTIVE: 'The token was issued to a client that is not registered as interactive; act for the user through token exchange.',
  ERR_IDENTITY_NOT_ENTITLED: 'The user does not hold the entitlement this action needs.',
  ERR_IDENTITY_DEV_LOGIN_FAILED: 'The dev identity provider did not complete the login.',
  ERR_IDENTITY_JOURNAL_INVALID: 'The offline journal or its fail-open metadata does not verify; nothing of it was recorded.',
  // policy
  ERR_POLICY_BUNDLE_INVALID: 'The policy bundle could not be loaded.',
  ERR_POLICY_EVALUATION_FAILED: 'The policy could not be evaluated; the call is denied.',
  ERR_POLICY_DENIED: 'The policy denies this call.',
  ERR_POLICY_APPROVAL_INVALID: 'A bundle approval could not be made or checked (key, signature or approver id).',
  ERR_POLICY_BUNDLE_REFUSED: 'The candidate bundle was refused (approvals, version or validity); the bundle in force keeps deciding.',
  ERR_POLICY_CONFIRMATION_REQUIRED: 'The policy requires a confirmation before this call.',
  // input limits
  ERR_INPUT_TOO_COMPLEX: 'The input exceeds a configured limit (depth, count or size); nothing of it was classified, stored or forwarded.',
  ERR_INPUT_INVALID: "The arguments do not validate against the tool's input schema (or the schema is unusable); the call is denied.",
  // protect
  ERR_PROTECT_FAILED: 'Redaction failed; nothing is returned.',
  ERR_PROTECT_TOO_LARGE: 'The value is larger than Custos inspects; nothing is returned.',
  // audit
  ERR_AUDIT_UNAVAILABLE:
    'The audit store could not write durably; the call is denied. Check that audit.store is up and writable (its PostgreSQL server running, or its SQLite file not locked by another process and its disk not full), then retry: Custos recovers without a restart.',
  ERR_AUDIT_CHAIN_BROKEN: 'The audit trail does not verify.',
  ERR_EXPORT_DELIVERY_FAILED: 'A SIEM sink or anchor did not take a batch; it is retried from its cursor, nothing is dropped.',
  ERR_AUDIT_STORE_INVALID: 'The audit store location is not valid.',
  ERR_AUDIT_DECRYPT_FAILED: 'A sealed audit row could not be decrypted: its key is not in the registry, or its ciphertext was changed.',
  ERR_AUDIT_PURGE_REFUSED: 'The retention purge was refused (a retention below the configured minimum, or nothing confirmed).',
  // keys
  ERR_KEY_UNKNOWN: 'No key with this id is in the key registry (the `keys` section of the config).',
  ERR_KEY_INVALID: 'A key in the registry is not usable for its declared use (wrong type, length or token object).',
  // gateway
  ERR_GATEWAY_BAD_REQUEST: 'The request is malformed.',
  ERR_GATEWAY_NOT_FOUND: 'No such route, tool or request.',
  ERR_GATEWAY_UPSTREAM_UNAVAILABLE: 'The upstream server is not available.',
  ERR_GATEWAY_UPSTREAM_FAILED: 'The upstream server failed the call.',
  ERR_GATEWAY_PAYLOAD_TOO_LARGE: 'The request body is too large.',
  ERR_GATEWAY_SESSION_LIMIT: 'Too many open sessions; close one or retry later.',
  ERR_GATEWAY_PENDING_STORE_UNAVAILABLE:
    "The shared store of the decision API's pending authorizations could not be reached; nothing is allowed. Check that the database of audit.store, which holds them, is up, then retry.",
  ERR_GATEWAY_SESSION_STORE_UNAVAILABLE:
    'The shared MCP session store could not be read or written, so the session cannot be continued here. Check that identity.sessions.store (by default the audit store) is up, then retry.',
  ERR_GATEWAY_CONFLICT: 'The request conflicts with one already in progress.',
  ERR_GATEWAY_CANCELLED: 'The request was cancelled by the caller.',
  ERR_GATEWAY_CAPABILITY_UNSUPPORTED: "The agent's client does not support a capability this request needs (elicitation, sampling).",
  ERR_GATEWAY_RATE_LIMITED: 'Too many unauthenticated or failed requests from this address; retry after the Retry-After delay.',
  // outbound connections (issuers, HTTP upstreams, model providers)
  ERR_UPSTREAM_TLS_PIN_MISMATCH: "The destination's certificate does not match its configured SPKI pins; the connection was refused.",
  ERR_UPSTREAM_IDENTITY_UNAVAILABLE:
    "Custos could not obtain the user's token for the upstream from the user's identity provider (RFC 8693 exchange refused, unreachable or not configured); the call was not sent.",
  ERR_UPSTREAM_ADDRESS_BLOCKED: 'The destination resolves to a private, loopback, link-local or metadata address it may not use; the connection was refused.',
  ERR_GATEWAY_PROVIDER_FAILED: 'The model provider could not be reached or failed the request.',
  // config
  ERR_CONFIG_INVALID: 'The configuration is invalid.',
  ERR_CONFIG_SECRET_UNRESOLVED: 'A secret reference in the configuration could not be resolved.',
  // internal
  ERR_INTERNAL: 'An internal error occurred.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CustosError extends Error {
  readonly code: ErrorCode;
  /** Machine-readable detail safe to show a caller (never secrets or payloads). */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message ?? ERROR_CODES[code], options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CustosError';
    this.code = code;
    this.detail = options?.detail ? Object.freeze({ ...options.detail }) : undefined;
  }
}

export function isCustosError(err: unknown): err is CustosError {
  return err instanceof CustosError;
}

/** Wrap anything thrown into a CustosError without copying its message (it may hold payloads). */
export function toCustosError(err: unknown, fallback: ErrorCode = 'ERR_INTERNAL'): CustosError {
  return isCustosError(err) ? err : new CustosError(fallback, undefined, { cause: err });
}
