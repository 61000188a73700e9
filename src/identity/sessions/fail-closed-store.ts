/**
 * A session store whose failures are named: any error of its operations that is not already a
 * CustosError (a lost connection, a refused one, a locked file) becomes
 * ERR_IDENTITY_SESSION_STORE_UNAVAILABLE (503, names the fix), so an outage of the store denies a
 * request with a clear error instead of a 500, whatever operation met it first (the revocation
 * check, the idle check, recording activity, a break-glass lookup).
 */
import { CustosError, isCustosError } from '../../kernel/index.js';

function named(err: unknown): unknown {
  return isCustosError(err) ? err : new CustosError('ERR_IDENTITY_SESSION_STORE_UNAVAILABLE', undefined, { cause: err });
}

/** Wraps every method of `store` (synchronous throws and rejected promises alike); other properties pass through. */
export function failClosedSessionStore<S extends object>(store: S): S {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          throw named(err);
        }
        return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(named(err))) : result;
      };
    },
  });
}
