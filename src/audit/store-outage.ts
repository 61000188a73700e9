/**
 * A read of the trail that failed because its store is down (PostgreSQL stopped or unreachable,
 * SQLite locked by another process, its disk full or failing) is ERR_AUDIT_UNAVAILABLE (503,
 * naming `audit.store`), not an internal error. Anything else (a bug, a row that does not parse)
 * is handed back unchanged, so it is not mistaken for an outage.
 */
import { CustosError, isStoreBusy } from '../kernel/index.js';

/** Store-outage error codes of either backend (PostgreSQL SQLSTATE classes, Node socket errors, SQLite result codes) and the reason each names. */
const OUTAGE_CODES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(08|57P)/, 'io_error'], // connection exceptions, the server shutting down
  [/^53/, 'disk_full'], // insufficient resources
  [/^(55P03|57014)$/, 'busy'], // lock_timeout, statement_timeout
  [/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE)$/, 'io_error'],
  [/^SQLITE_FULL/, 'disk_full'],
  [/^SQLITE_(IOERR|CANTOPEN)/, 'io_error'],
];

/** node-postgres's own errors of a lost or refused connection carry no code; these are their messages. */
const PG_CONNECTION_MESSAGE = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/** The outage reason of `err` (`io_error`, `busy`, `disk_full`), or undefined when it is not a store outage. */
export function storeOutageReason(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (isStoreBusy(err)) return 'busy';
  if (typeof code === 'string') {
    const found = OUTAGE_CODES.find(([re]) => re.test(code));
    if (found) return found[1];
  }
  return typeof message === 'string' && PG_CONNECTION_MESSAGE.test(message) ? 'io_error' : undefined;
}

/** `err` as ERR_AUDIT_UNAVAILABLE when the trail's store is down (the message names `audit.store`, never its URL); else `err` unchanged. */
export function toTrailReadError(err: unknown): unknown {
  if (err instanceof CustosError) return err;
  const reason = storeOutageReason(err);
  if (reason === undefined) return err;
  return new CustosError(
    'ERR_AUDIT_UNAVAILABLE',
    'The audit trail could not be read. Check that audit.store is up (its PostgreSQL server running, or its SQLite file not locked by another process), then retry.',
    { cause: err, detail: { reason } },
  );
}
