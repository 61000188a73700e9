import { describe, expect, it } from 'vitest';
import { CustosError, ERROR_CODES } from '../kernel/index.js';
import type { ErrorCode } from '../kernel/index.js';
import { ERROR_TABLE, JSON_RPC_CODES, mapErrorCode, toHttpError, toJsonRpcError } from './errors.js';

describe('error table', () => {
  it('maps every kernel error code, and nothing else', () => {
    expect(Object.keys(ERROR_TABLE).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const mapping of Object.values(ERROR_TABLE)) {
      expect(mapping.status).toBeGreaterThanOrEqual(400);
      expect(mapping.status).toBeLessThan(600);
      expect(Object.values(JSON_RPC_CODES)).toContain(mapping.rpc);
    }
  });

  it.each<[ErrorCode, number]>([
    ['ERR_IDENTITY_TOKEN_MISSING', 401],
    ['ERR_IDENTITY_TOKEN_EXPIRED', 401],
    ['ERR_IDENTITY_ISSUER_UNKNOWN', 401],
    ['ERR_IDENTITY_SESSION_MISMATCH', 403],
    ['ERR_POLICY_DENIED', 403],
    ['ERR_AUDIT_UNAVAILABLE', 503],
    ['ERR_GATEWAY_UPSTREAM_UNAVAILABLE', 502],
    ['ERR_GATEWAY_UPSTREAM_FAILED', 502],
    ['ERR_GATEWAY_BAD_REQUEST', 400],
    ['ERR_GATEWAY_NOT_FOUND', 404],
    ['ERR_GATEWAY_PAYLOAD_TOO_LARGE', 413],
    ['ERR_GATEWAY_RATE_LIMITED', 429],
    ['ERR_INTERNAL', 500],
  ])('%s → HTTP %i', (code, status) => {
    expect(toHttpError(new CustosError(code)).status).toBe(status);
    expect(mapErrorCode(code).status).toBe(status);
  });

  it('gives the code, the message and safe detail to the caller', () => {
    const err = new CustosError('ERR_GATEWAY_BAD_REQUEST', 'The request body is invalid.', { detail: { problems: ['tool: Required'] } });
    expect(toHttpError(err)).toEqual({
      status: 400,
      headers: {},
      body: { error: { code: 'ERR_GATEWAY_BAD_REQUEST', message: 'The request body is invalid.', detail: { problems: ['tool: Required'] } } },
    });
    expect(toJsonRpcError(err)).toEqual({
      code: -32600,
      message: 'The request body is invalid.',
      data: { code: 'ERR_GATEWAY_BAD_REQUEST', detail: { problems: ['tool: Required'] } },
    });
  });

  it('never returns the message, detail or cause of an internal error', () => {
    const leaky = new CustosError('ERR_INTERNAL', 'token eyJhbGciOi leaked', { cause: new Error('password=hunter2'), detail: { secret: 'x' } });
    const http = toHttpError(leaky);
    expect(http).toEqual({ status: 500, headers: {}, body: { error: { code: 'ERR_INTERNAL', message: ERROR_CODES.ERR_INTERNAL } } });
    expect(JSON.stringify(toJsonRpcError(leaky))).not.toMatch(/eyJ|hunter2|secret/);
  });

  it('maps anything that is not a CustosError to a generic ERR_INTERNAL', () => {
    const http = toHttpError(new Error('SELECT * FROM users WHERE ssn=123-45-6789'));
    expect(http.status).toBe(500);
    expect(JSON.stringify(http)).not.toContain('123-45-6789');
    expect(toJsonRpcError('boom')).toEqual({ code: JSON_RPC_CODES.INTERNAL_ERROR, message: ERROR_CODES.ERR_INTERNAL, data: { code: 'ERR_INTERNAL' } });
    expect(mapErrorCode('ERR_NOT_A_CODE')).toEqual(ERROR_TABLE.ERR_INTERNAL);
  });

  it.each<[ErrorCode, RegExp]>([
    ['ERR_AUDIT_UNAVAILABLE', /audit\.store/],
    ['ERR_IDENTITY_SESSION_STORE_UNAVAILABLE', /identity\.sessions\.store/],
    ['ERR_GATEWAY_SESSION_STORE_UNAVAILABLE', /identity\.sessions\.store/],
    ['ERR_GATEWAY_PENDING_STORE_UNAVAILABLE', /audit\.store/],
  ])('a store that is down, %s: 503 with Retry-After, JSON-RPC -32020, a message naming the config key to check', (code, key) => {
    const err = new CustosError(code, undefined, { cause: new Error('connect ECONNREFUSED postgres://custos:s3cret@db:5432/custos') });
    const http = toHttpError(err);
    expect(http.status).toBe(503);
    expect(http.headers).toEqual({ 'retry-after': '2' });
    expect(http.body.error.code).toBe(code);
    expect(http.body.error.message).toMatch(key);
    expect(JSON.stringify(http)).not.toMatch(/s3cret|ECONNREFUSED|postgres:/);
    expect(toJsonRpcError(err)).toEqual({ code: JSON_RPC_CODES.SERVICE_UNAVAILABLE, message: ERROR_CODES[code], data: { code } });
  });

  it('gives no Retry-After to an answer a retry cannot change', () => {
    for (const code of ['ERR_POLICY_DENIED', 'ERR_GATEWAY_BAD_REQUEST', 'ERR_INTERNAL', 'ERR_IDENTITY_TOKEN_EXPIRED'] as const) {
      expect(toHttpError(new CustosError(code)).headers).toEqual({});
    }
  });
});
