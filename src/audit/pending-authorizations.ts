/**
 * The decision API's pending authorizations (the kernel's PendingAuthorizationStore port) in the
 * store the replicas share, beside the rate-limit counters: the counters' SQLite file (one
 * machine) or the trail's PostgreSQL database (every replica). One table, one code path: `take`
 * and `sweep` are each one `DELETE … RETURNING`, so a row goes to exactly one caller even when two
 * replicas race for it. Every failure is ERR_GATEWAY_PENDING_STORE_UNAVAILABLE: nothing is allowed
 * on a row that cannot be read or removed.
 *
 * The body (the authorization, the call's arguments included: the tool has not run yet) is sealed
 * like a trail row when `audit.encryption.key` is set (AES-256-GCM, the trail's envelope). A sealed
 * body is bound to its row by checking, once opened, that it names the row's request id and owner.
 */
import * as crypto from 'node:crypto';
import Database from 'better-sqlite3';
import { CustosError, retryWhileBusy } from '../kernel/index.js';
import type { Authorization, PendingAuthorizationRow, PendingAuthorizationStore } from '../kernel/index.js';
import { sealRecordText } from './seal-format.js';
import { createSidePool } from './postgres-store.js';
import { createSealer } from './sealing.js';
import type { RecordKeys, Sealer } from './sealing.js';

const TABLE = 'custos_pending_authorizations';

/** The table (idempotent; migration 7 of src/app/migrations.ts; SQLite makes it at open). */
export const PENDING_AUTHORIZATIONS_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS ${TABLE} (request_id TEXT PRIMARY KEY, iss TEXT NOT NULL, sub TEXT NOT NULL, held INTEGER NOT NULL, expires_ms BIGINT NOT NULL, created_ms BIGINT NOT NULL, body TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_expires ON ${TABLE} (expires_ms)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_created ON ${TABLE} (created_ms)`,
] as const;

const COLUMNS = 'request_id, iss, sub, held, expires_ms, body';
const SQL = {
  put: `INSERT INTO ${TABLE} (request_id, iss, sub, held, expires_ms, created_ms, body) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (request_id) DO UPDATE SET iss = excluded.iss, sub = excluded.sub, held = excluded.held, expires_ms = excluded.expires_ms,
    created_ms = excluded.created_ms, body = excluded.body WHERE ${TABLE}.expires_ms <= $8`,
  get: `SELECT ${COLUMNS} FROM ${TABLE} WHERE request_id = $1 AND expires_ms > $2`,
  take: `DELETE FROM ${TABLE} WHERE request_id = $1 AND iss = $2 AND sub = $3 AND held = $4 AND expires_ms > $5 RETURNING ${COLUMNS}`,
  expired: `DELETE FROM ${TABLE} WHERE expires_ms <= $1 RETURNING ${COLUMNS}`,
  count: `SELECT count(*) AS n FROM ${TABLE}`,
  oldest: `DELETE FROM ${TABLE} WHERE request_id IN (SELECT request_id FROM ${TABLE} ORDER BY created_ms, request_id LIMIT $1) RETURNING ${COLUMNS}`,
  list: `SELECT ${COLUMNS} FROM ${TABLE} WHERE expires_ms > $1 ORDER BY created_ms, request_id`,
};

interface Row {
  request_id: string;
  iss: string;
  sub: string;
  held: number | string;
  expires_ms: number | string;
  body: string;
}

/** The seq the sealed bodies' AAD names (they are not trail rows); the binding is checked on open instead. */
const SEAL_SEQ = 0;

function toRow(r: Row, sealer: Sealer): PendingAuthorizationRow {
  const authorization = JSON.parse(sealer.open(SEAL_SEQ, r.body)) as Authorization;
  const { call } = authorization;
  if (call?.requestId !== r.request_id || call.principal?.sub !== r.sub || call.principal?.iss !== r.iss)
    throw new CustosError('ERR_GATEWAY_PENDING_STORE_UNAVAILABLE', 'A pending authorization does not match its row (a body moved between rows).');
  return { requestId: r.request_id, owner: { iss: r.iss, sub: r.sub }, held: Number(r.held) === 1, expiresAt: Number(r.expires_ms), authorization };
}

function sealBody(sealer: Sealer, authorization: Authorization): string {
  const text = JSON.stringify(authorization);
  const seal = sealer.next();
  return seal ? sealRecordText(crypto, seal, SEAL_SEQ, text) : text;
}

/** Runs one SQL statement with `$n` parameters; returns its rows (RETURNING / SELECT) and how many rows it changed. */
type Run = (sql: string, params: readonly unknown[]) => Promise<{ rows: Row[]; changed: number }>;

function unavailable(err: unknown): CustosError {
  return new CustosError('ERR_GATEWAY_PENDING_STORE_UNAVAILABLE', undefined, { cause: err });
}

function bindStore(run: Run, close: () => Promise<void>, sealer: Sealer): PendingAuthorizationStore {
  const exec: Run = (sql, params) => run(sql, params).catch((err: unknown) => Promise.reject(unavailable(err)));
  const open = (r: Row): PendingAuthorizationRow => {
    try {
      return toRow(r, sealer);
    } catch (err) {
      throw err instanceof CustosError && err.code === 'ERR_GATEWAY_PENDING_STORE_UNAVAILABLE' ? err : unavailable(err);
    }
  };
  return {
    async put(row, now) {
      const { owner, authorization } = row;
      const params = [row.requestId, owner.iss, owner.sub, row.held ? 1 : 0, row.expiresAt, now, sealBody(sealer, authorization), now];
      return (await exec(SQL.put, params)).changed === 1;
    },
    async get(requestId, now) {
      const [row] = (await exec(SQL.get, [requestId, now])).rows;
      return row && open(row);
    },
    async take(requestId, owner, held, now) {
      const [row] = (await exec(SQL.take, [requestId, owner.iss, owner.sub, held ? 1 : 0, now])).rows;
      return row && open(row);
    },
    async sweep(now, maxLive) {
      const expired = (await exec(SQL.expired, [now])).rows.map((r) => ({ row: open(r), cause: 'expired' as const }));
      if (maxLive === undefined) return expired;
      const [counted] = (await exec(SQL.count, [])).rows as unknown as Array<{ n: number | string }>;
      const over = Number(counted?.n ?? 0) - maxLive + 1;
      const bound = over > 0 ? (await exec(SQL.oldest, [over])).rows.map((r) => ({ row: open(r), cause: 'bound' as const })) : [];
      return [...expired, ...bound];
    },
    async list(now) {
      return (await exec(SQL.list, [now])).rows.map(open);
    },
    close,
  };
}

/** `sqlite:PATH` or a `postgres://` URL (the rate counters' location: deriveRateCounterLocation). */
export async function createPendingAuthorizationStore(
  uri: string,
  options: { busyTimeoutMs?: number; keys?: RecordKeys } = {},
): Promise<PendingAuthorizationStore> {
  const sealer = createSealer(options.keys);
  if (uri.startsWith('sqlite:')) return openSqlite(uri.slice('sqlite:'.length), options.busyTimeoutMs ?? 250, sealer);
  if (/^postgres(ql)?:\/\//.test(uri)) return openPostgres(uri, sealer, options.busyTimeoutMs ?? 2000);
  throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The pending authorizations need sqlite:PATH or a postgres:// URL.');
}

function openSqlite(file: string, busyTimeoutMs: number, sealer: Sealer): PendingAuthorizationStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${busyTimeoutMs}`); // at open only: the schema waits as SQLite waits
  for (const sql of PENDING_AUTHORIZATIONS_SCHEMA) db.exec(sql);
  db.pragma('busy_timeout = 0'); // then a statement that meets another connection's lock is retried on timers, the event loop free
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) {
      // `?` binds by position: the rewrite is right only while $1…$n each stand once, in that order (checked, not assumed).
      const order = [...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
      if (order.some((n, i) => n !== i + 1)) throw new Error(`pending authorizations: placeholders out of order in ${sql}`);
      statements.set(sql, (s = db.prepare(sql.replace(/\$\d+/g, '?'))));
    }
    return s;
  };
  return bindStore(
    async (sql, params) => {
      const s = prepared(sql);
      // DELETE … RETURNING is a reader that writes: every statement goes through the retry (a free lock costs nothing).
      return retryWhileBusy(
        () => (s.reader ? { rows: s.all(...params) as Row[], changed: 0 } : { rows: [], changed: s.run(...params).changes }),
        busyTimeoutMs,
      );
    },
    async () => void db.close(),
    sealer,
  );
}

async function openPostgres(url: string, sealer: Sealer, busyTimeoutMs: number): Promise<PendingAuthorizationStore> {
  // A stalled server costs a bounded wait, then ERR_GATEWAY_PENDING_STORE_UNAVAILABLE.
  const pool = createSidePool(url, busyTimeoutMs);
  try {
    for (const sql of PENDING_AUTHORIZATIONS_SCHEMA) await pool.query(sql);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw unavailable(err);
  }
  return bindStore(
    async (sql, params) => {
      const r = await pool.query<Row>(sql, [...params]);
      return { rows: r.rows, changed: r.rowCount ?? 0 };
    },
    () => pool.end(),
    sealer,
  );
}
