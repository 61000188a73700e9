/**
 * RFC 8693 request parsing and the refusal vocabulary of the token endpoint. A refusal is a
 * CustosError ERR_IDENTITY_DELEGATION_INVALID whose detail carries the OAuth error
 * (`oauth_error`, RFC 6749 §5.2 / RFC 8693 §2.2.2) and a stable `reason`; never a token.
 */
import { CustosError } from '../../kernel/index.js';
import type { DelegationRefusal, ErrorCode, TokenRequestForm } from '../../kernel/index.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
/** Custos' own token type: a background grant token from POST /v1/grants/background. */
export const BACKGROUND_GRANT_TOKEN_TYPE = 'urn:custos:params:oauth:token-type:background-grant';

const JWT_TYPES = new Set([ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE]);
const MAX_SCOPE_ITEMS = 64;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

export type OAuthError = 'invalid_request' | 'invalid_grant' | 'invalid_scope' | 'invalid_target' | 'unsupported_grant_type';

/** Stable reasons (the kernel's DELEGATION_REFUSALS), also the audit row's `policy.reasons` (prefixed `delegation_`). */
export type RefusalReason = DelegationRefusal;

export function refuse(oauthError: OAuthError, reason: RefusalReason, message: string, cause?: ErrorCode): CustosError {
  return new CustosError('ERR_IDENTITY_DELEGATION_INVALID', message, {
    detail: { oauth_error: oauthError, reason, ...(cause === undefined ? {} : { cause_code: cause }) },
  });
}

export interface ExchangeRequest {
  readonly subjectToken: string;
  readonly subjectIsGrant: boolean;
  readonly actorToken: string;
  readonly scope?: readonly string[];
}

function field(form: TokenRequestForm, name: string): string | undefined {
  const value = Object.hasOwn(form, name) ? form[name] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function required(form: TokenRequestForm, name: string): string {
  return field(form, name) ?? fail(refuse('invalid_request', 'request_invalid', `The "${name}" parameter is required.`));
}

function fail(err: CustosError): never {
  throw err;
}

/** Parses a space-delimited OAuth scope; refuses malformed or oversized ones. */
export function parseScope(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const items = [...new Set(raw.split(' ').filter(Boolean))];
  if (items.length === 0 || items.length > MAX_SCOPE_ITEMS || items.some((s) => !SCOPE_TOKEN.test(s))) {
    throw refuse('invalid_scope', 'request_invalid', 'The "scope" parameter is malformed.');
  }
  return items;
}

/** Validates the form: grant type, token types, the target (Custos only) and the scope's shape. */
export function parseExchangeRequest(form: TokenRequestForm, resource: string): ExchangeRequest {
  const grantType = required(form, 'grant_type');
  if (grantType !== TOKEN_EXCHANGE_GRANT) throw refuse('unsupported_grant_type', 'grant_type_unsupported', 'Only token exchange (RFC 8693) is supported.');
  const subjectToken = required(form, 'subject_token');
  const subjectType = required(form, 'subject_token_type');
  const actorToken = required(form, 'actor_token');
  const actorType = required(form, 'actor_token_type');
  const subjectIsGrant = subjectType === BACKGROUND_GRANT_TOKEN_TYPE;
  if ((!subjectIsGrant && !JWT_TYPES.has(subjectType)) || !JWT_TYPES.has(actorType)) {
    throw refuse('invalid_request', 'token_type_unsupported', 'The subject or actor token type is not supported.');
  }
  const requested = field(form, 'requested_token_type');
  if (requested !== undefined && !JWT_TYPES.has(requested)) {
    throw refuse('invalid_request', 'token_type_unsupported', 'Only access tokens can be requested.');
  }
  for (const name of ['audience', 'resource']) {
    const target = field(form, name);
    if (target !== undefined && target !== resource) throw refuse('invalid_target', 'target_invalid', `The "${name}" is not this Custos.`);
  }
  const scope = parseScope(field(form, 'scope'));
  return { subjectToken, subjectIsGrant, actorToken, ...(scope === undefined ? {} : { scope }) };
}

/**
 * The scope of the new token: the requested one when it is within the subject's, else the
 * subject's own. A subject without a scope claim puts no bound on the first narrowing.
 */
export function narrowScope(subject: readonly string[] | undefined, requested: readonly string[] | undefined): readonly string[] | undefined {
  if (requested === undefined) return subject;
  if (subject !== undefined && requested.some((s) => !subject.includes(s))) {
    throw refuse('invalid_scope', 'scope_widened', 'The requested scope is wider than the subject token grants.');
  }
  return requested;
}
