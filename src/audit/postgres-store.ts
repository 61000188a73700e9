/**
 * The shared audit store for several Custos replicas: one PostgreSQL table. Appends from
 * every replica are serialised by a transaction-scoped advisory lock, so seq stays
 * contiguous and the chain stays verifiable with many writers. A row is durable when
 * append resolves (synchronous_commit = on for Custos' sessions, whatever the server default).
 */
import pg from 'pg';
import { CustosError, GENESIS_HASH } from '../kernel/index.js';
import type { AuditEntry, AuditRecord, Clock } from '../kernel/index.js';
import { chainRecord } from './chain-hash.js';
import { createReaders, prepareEntry, toAppendError } from './store-common.js';
import type { StoredRow } from './store-common.js';
import type { AuditStoreAdmin, AuditStoreOptions, ChainHead } from './types.js';

const TABLE = 'custos_audit_records';
/** pg_advisory_xact_lock key serialising appends ("custos" in ASCII). */
const APPEND_LOCK = '108976238407795';
const PAGE_SIZE = 500;
const SYSTEM_CLOCK: Clock = { now: () => new Date() };
const DEFAULT_BUSY_TIMEOUT_MS = 250;
/** Past the lock deadline, how long a transaction under way may take to commit before the append is denied anyway. */
const COMMIT_GRACE_MS = 2000;

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  seq BIGINT PRIMARY KEY,
  hash TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION custos_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'custos audit rows are append-only'; END $$;
DROP TRIGGER IF EXISTS custos_audit_no_change ON ${TABLE};
CREATE TRIGGER custos_audit_no_change BEFORE UPDATE OR DELETE ON ${TABLE}
  FOR EACH ROW EXECUTE FUNCTION custos_audit_append_only();
DROP TRIGGER IF EXISTS custos_audit_no_truncate ON ${TABLE};
CREATE TRIGGER custos_audit_no_truncate BEFORE TRUNCATE ON ${TABLE}
  FOR EACH STATEMENT EXECUTE FUNCTION custos_audit_append_only();
`;

const REASON_BY_PG_CODE: ReadonlyArray<readonly [RegExp, string]> = [
  [/^55P03$/, 'busy'], // lock_not_available (lock_timeout)
  [/^57014$/, 'busy'], // query_canceled (statement_timeout)
  [/^25006$/, 'readonly'], // read_only_sql_transaction
  [/^53/, 'disk_full'], // insufficient resources
  [/^(08|57P)/, 'io_error'], // connection failures, admin shutdown
  [/^ECONN|^ETIMEDOUT|^ENOTFOUND/, 'io_error'],
  [/^23/, 'constraint'],
  [/^CUSTOS_BUSY$/, 'busy'], // no pooled connection before the deadline
  [/^CUSTOS_STALLED$/, 'stalled'], // the transaction did not finish within the grace
];

interface HeadRow {
  seq: string;
  hash: string;
}

export async function createPostgresAuditStore(uri: string, options: AuditStoreOptions): Promise<AuditStoreAdmin> {
  const timeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const pool = new pg.Pool({ connectionString: uri, max: 4, connectionTimeoutMillis: Math.max(timeoutMs, 1000) });
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query
  pool.on('connect', (client) => {
    void client.query(`SET synchronous_commit TO on; SET lock_timeout TO ${Math.max(timeoutMs, 1)}`).catch(() => undefined);
  });
  try {
    if (options.readonly) {
      const found = await pool.query('SELECT to_regclass($1) AS t', [TABLE]);
      if (!found.rows[0]?.t) throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The database holds no Custos audit trail.');
    } else {
      await withClient(pool, async (client) => {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]); // replicas may start together
        await client.query(SCHEMA_SQL);
        await client.query('COMMIT');
      });
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof CustosError) throw err;
    throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The postgres audit store could not be opened.', { cause: err });
  }
  return bindStore(pool, options);
}

async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

function toHead(row: HeadRow | undefined): ChainHead {
  return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
}

function bindStore(pool: pg.Pool, options: AuditStoreOptions): AuditStoreAdmin {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const timeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  let closed = false;
  const assertUsable = (): void => {
    if (closed) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit store is closed.', { detail: { reason: 'closed' } });
  };

  async function* readPages(fromSeq: number): AsyncGenerator<StoredRow> {
    let next = fromSeq;
    for (;;) {
      assertUsable();
      const { rows } = await pool.query<{ seq: string; hash: string; record: string }>(
        `SELECT seq, hash, record FROM ${TABLE} WHERE seq >= $1 ORDER BY seq LIMIT $2`,
        [next, PAGE_SIZE],
      );
      for (const row of rows) yield { seq: Number(row.seq), hash: row.hash, record: row.record };
      if (rows.length < PAGE_SIZE) return;
      next = Number(rows[rows.length - 1]!.seq) + 1;
    }
  }

  return {
    async append(entry: AuditEntry): Promise<AuditRecord> {
      try {
        assertUsable();
        if (options.readonly) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit store is open read-only.', { detail: { reason: 'readonly' } });
        return await appendWithin(pool, prepareEntry(entry, clock), Date.now() + timeoutMs);
      } catch (err) {
        throw toAppendError(err, REASON_BY_PG_CODE);
      }
    },
    ...createReaders(readPages),
    async head(): Promise<ChainHead> {
      assertUsable();
      const { rows } = await pool.query<HeadRow>(`SELECT seq, hash FROM ${TABLE} ORDER BY seq DESC LIMIT 1`);
      return toHead(rows[0]);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** Rejects with `{ code }` after `ms`; `onLate` receives the value if it arrives after that. */
function within<T>(promise: Promise<T>, ms: number, code: string, onLate: (value: T) => void = () => undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(
      () => {
        late = true;
        reject(Object.assign(new Error('The audit store did not answer in time.'), { code }));
      },
      Math.max(0, ms),
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (late) onLate(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * One append that waits for a pooled connection and for the advisory lock no longer than
 * `deadline` (lock_timeout is what is left of it), then gets COMMIT_GRACE_MS to commit; a
 * connection that overruns is destroyed, which aborts its transaction.
 */
async function appendWithin(pool: pg.Pool, fields: Omit<AuditRecord, 'hash' | 'seq' | 'prev_hash'>, deadline: number): Promise<AuditRecord> {
  const client = await within(pool.connect(), deadline - Date.now(), 'CUSTOS_BUSY', (late) => late.release());
  let released = false;
  const release = (err?: Error): void => {
    if (released) return;
    released = true;
    client.release(err);
  };
  const run = async (): Promise<AuditRecord> => {
    const waitMs = Math.max(1, deadline - Date.now());
    const results = (await client.query(
      `BEGIN; SET LOCAL lock_timeout = ${waitMs}; SELECT pg_advisory_xact_lock(${APPEND_LOCK}); SELECT seq, hash FROM ${TABLE} ORDER BY seq DESC LIMIT 1`,
    )) as unknown as Array<pg.QueryResult<HeadRow>>;
    const { record, json } = chainRecord(fields, toHead(results[3]?.rows[0]));
    await client.query(`INSERT INTO ${TABLE} (seq, hash, record) VALUES ($1, $2, $3)`, [record.seq, record.hash, json]);
    await client.query('COMMIT');
    return record;
  };
  try {
    const record = await within(run(), deadline - Date.now() + COMMIT_GRACE_MS, 'CUSTOS_STALLED');
    release();
    return record;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'CUSTOS_STALLED') release(err as Error);
    else
      await client.query('ROLLBACK').then(
        () => release(),
        (e: Error) => release(e),
      );
    throw err;
  }
}
