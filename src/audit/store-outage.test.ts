import { describe, expect, it } from 'vitest';
import { CustosError } from '../kernel/index.js';
import { storeOutageReason, toTrailReadError } from './store-outage.js';

const withCode = (code: string, message = 'failed'): Error => Object.assign(new Error(message), { code });

describe('store outages named', () => {
  it.each([
    ['57P01', 'io_error'], // terminating connection due to administrator command
    ['08006', 'io_error'],
    ['ECONNREFUSED', 'io_error'],
    ['53100', 'disk_full'],
    ['55P03', 'busy'],
    ['SQLITE_BUSY', 'busy'],
    ['SQLITE_LOCKED_SHAREDCACHE', 'busy'],
    ['SQLITE_FULL', 'disk_full'],
    ['SQLITE_IOERR_WRITE', 'io_error'],
  ])('%s is an outage (%s)', (code, reason) => {
    expect(storeOutageReason(withCode(code))).toBe(reason);
  });

  it("recognises node-postgres's uncoded connection errors by their message", () => {
    expect(storeOutageReason(new Error('Connection terminated unexpectedly'))).toBe('io_error');
    expect(storeOutageReason(new Error('timeout exceeded when trying to connect'))).toBe('io_error');
  });

  it('leaves other errors alone: a bug or a bad query is not an outage', () => {
    for (const err of [new TypeError('x is undefined'), withCode('42P01', 'relation does not exist'), withCode('SQLITE_ERROR'), 'text', null]) {
      expect(storeOutageReason(err)).toBeUndefined();
      expect(toTrailReadError(err)).toBe(err);
    }
  });

  it('turns an outage into ERR_AUDIT_UNAVAILABLE naming audit.store, never the cause or the URL', () => {
    const cause = withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432 postgres://custos:s3cret@db/custos');
    const err = toTrailReadError(cause) as CustosError;
    expect(err).toBeInstanceOf(CustosError);
    expect(err.code).toBe('ERR_AUDIT_UNAVAILABLE');
    expect(err.message).toMatch(/audit\.store/);
    expect(err.message).not.toMatch(/s3cret|5432|postgres:/);
    expect(err.detail).toEqual({ reason: 'io_error' });
    expect(err.cause).toBe(cause);
  });

  it('keeps a CustosError as it is', () => {
    const err = new CustosError('ERR_AUDIT_CHAIN_BROKEN');
    expect(toTrailReadError(err)).toBe(err);
  });
});
