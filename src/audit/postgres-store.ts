/**
 * The shared audit store for several Custos replicas: one PostgreSQL table. Appends from
 * every replica are serialised by a transaction-scoped advisory lock, so seq stays
 * contiguous and the chain stays verifiable with many writers. A row is durable when
 * append resolves (synchronous_commit = on for Custos' sessions, whatever the server default).
 */
import * as crypto from 'node:crypto';
import pg from 'pg';
import { CustosError, GENESIS_HASH, sha256Hex } from '../kernel/index.js';
import type { AuditEntry, AuditRecord, Clock } from '../kernel/index.js';
import { chainRecord, renderChainedRecord } from './chain-hash.js';
import type { CanonicalSegments } from './chain-hash.js';
import { purgeEntryRanges, renderTombstone } from './retention-format.js';
import { sealRecordText } from './seal-format.js';
import { createSealer } from './sealing.js';
import type { Sealer } from './sealing.js';
import { createReaders, prepareEntry, toAppendError, toSegments } from './store-common.js';
import type { StoredRow } from './store-common.js';
import type { AuditStoreAdmin, AuditStoreOptions, ChainHead } from './types.js';

const TABLE = 'custos_audit_records';
/** pg_advisory_xact_lock key serialising appends ("custos" in ASCII). */
const APPEND_LOCK = '108976238407795';
const PAGE_SIZE = 500;
const SYSTEM_CLOCK: Clock = { now: () => new Date() };
/** Without a config (`custos audit verify --store`, tests); served, the config's default (src/config) applies. */
const DEFAULT_BUSY_TIMEOUT_MS = 2000;
/** Past the lock deadline, how long a transaction under way may take to commit before the append is denied anyway. */
const COMMIT_GRACE_MS = 2000;
/** A purge batch (run from the CLI beside serving replicas) waits this long for the append lock. */
const PURGE_LOCK_WAIT_MS = 10_000;

/** The trail's tables and append-only triggers (idempotent; migration 1 of src/app/migrations.ts). */
export const AUDIT_POSTGRES_SCHEMA = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  seq BIGINT PRIMARY KEY,
  hash TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS custos_audit_purge_grants (seq BIGINT PRIMARY KEY);
CREATE OR REPLACE FUNCTION custos_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN
  IF TG_OP = 'UPDATE' AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash AND (NEW.record::json ->> 'schema') = 'custos.purged/v1'
     AND EXISTS (SELECT 1 FROM custos_audit_purge_grants g WHERE g.seq = OLD.seq) THEN
    RETURN NEW; -- the one exception: a recorded retention purge (postgres-store.ts purge)
  END IF;
  RAISE EXCEPTION 'custos audit rows are append-only (a recorded retention purge is the one exception)';
END $$;
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
  [/^CUSTOS_PURGE_INVALID$/, 'purge_invalid'],
];

interface HeadRow {
  seq: string;
  hash: string;
}

export async function createPostgresAuditStore(uri: string, options: AuditStoreOptions): Promise<AuditStoreAdmin> {
  const timeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const pool = createAuditPool(uri, timeoutMs);
  try {
    if (options.readonly) {
      const found = await pool.query('SELECT to_regclass($1) AS t', [TABLE]);
      if (!found.rows[0]?.t) throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The database holds no Custos audit trail.');
    } else {
      await withClient(pool, async (client) => {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]); // replicas may start together
        await client.query(AUDIT_POSTGRES_SCHEMA);
        await client.query('COMMIT');
      });
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof CustosError) throw err;
    throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The postgres audit store could not be opened.', { cause: err });
  }
  return bindStore(pool, options, createSealer(options.keys));
}

/**
 * The trail's pool. Its sessions' settings are startup options of each connection (`-c name=value`),
 * in effect before the first query: a `SET` issued on 'connect' would race the pool's first query
 * on that client (pg warns, and pg@9 refuses, a query issued while another is running).
 */
export function createAuditPool(uri: string, timeoutMs: number): pg.Pool {
  const settings = { synchronous_commit: 'on', lock_timeout: String(Math.max(timeoutMs, 1)) };
  return quietOnErrors(new pg.Pool({ ...withStartupSettings(uri, settings), max: 4, connectionTimeoutMillis: Math.max(timeoutMs, 1000) }));
}

/**
 * A pool beside the trail's (rate counters, pending authorizations): a stalled server (not a
 * refused connection: the process stopped, a partition) costs at most max(`busyTimeoutMs`, 1 s)
 * to connect and per query, then the caller's store error, never a hang.
 */
export function createSidePool(url: string, busyTimeoutMs: number): pg.Pool {
  const waitMs = Math.max(busyTimeoutMs, 1000);
  return quietOnErrors(new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: waitMs, query_timeout: waitMs }));
}

function quietOnErrors(pool: pg.Pool): pg.Pool {
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query
  // The pool listens for errors only on idle clients: a checked-out one told by a stopping server
  // (57P01) between two queries would otherwise throw an unhandled 'error' and end the process.
  // The client is unusable after it; its next query fails and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * A connection string and the startup `options` carrying `settings`, after any `options` the URL
 * itself gives (pg lets the URL's parameter replace the `options` field, so the two are joined here).
 */
export function withStartupSettings(uri: string, settings: Readonly<Record<string, string>>): { connectionString: string; options: string } {
  const ours = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { connectionString: uri, options: ours.join(' ') };
  }
  const theirs = url.searchParams.get('options');
  if (theirs === null) return { connectionString: uri, options: ours.join(' ') };
  url.searchParams.delete('options');
  return { connectionString: url.toString(), options: [theirs, ...ours].filter(Boolean).join(' ') };
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

function bindStore(pool: pg.Pool, options: AuditStoreOptions, sealer: Sealer): AuditStoreAdmin {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const timeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  let closed = false;
  const append = createGroupCommitter(pool, sealer);
  const assertUsable = (): void => {
    if (closed) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit store is closed.', { detail: { reason: 'closed' } });
  };

  async function* readPages(fromSeq: number, pageSize = PAGE_SIZE): AsyncGenerator<StoredRow> {
    const size = Math.min(pageSize, PAGE_SIZE);
    let next = fromSeq;
    for (;;) {
      assertUsable();
      const { rows } = await pool.query<{ seq: string; hash: string; record: string }>(
        `SELECT seq, hash, record FROM ${TABLE} WHERE seq >= $1 ORDER BY seq LIMIT $2`,
        [next, size],
      );
      for (const row of rows) yield { seq: Number(row.seq), hash: row.hash, record: row.record };
      if (rows.length < size) return;
      next = Number(rows[rows.length - 1]!.seq) + 1;
    }
  }

  return {
    async append(entry: AuditEntry): Promise<AuditRecord> {
      try {
        assertUsable();
        if (options.readonly) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit store is open read-only.', { detail: { reason: 'readonly' } });
        return await append(toSegments(prepareEntry(entry, clock)), Date.now() + timeoutMs);
      } catch (err) {
        throw toAppendError(err, REASON_BY_PG_CODE);
      }
    },
    async purge(entry: AuditEntry) {
      try {
        assertUsable();
        const ranges = purgeEntryRanges(entry);
        return await withClient(pool, (client) => purgeBatch(client, prepareEntry(entry, clock), ranges, sealer));
      } catch (err) {
        throw toAppendError(err, REASON_BY_PG_CODE);
      }
    },
    ...createReaders(readPages, sealer),
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

/** One purge batch in one transaction, under the append lock: the purge row, then each listed row's tombstone (see sqlite-worker.ts). */
async function purgeBatch(
  client: pg.PoolClient,
  fields: Omit<AuditRecord, 'hash' | 'seq' | 'prev_hash'>,
  ranges: ReadonlyArray<readonly [number, number]>,
  sealer: Sealer,
): Promise<{ record: AuditRecord; purged: number }> {
  await client.query(`BEGIN; SET LOCAL lock_timeout = ${PURGE_LOCK_WAIT_MS}; SELECT pg_advisory_xact_lock(${APPEND_LOCK})`);
  const head = await client.query<HeadRow>(`SELECT seq, hash FROM ${TABLE} ORDER BY seq DESC LIMIT 1`);
  const { record, json } = chainRecord(fields, toHead(head.rows[0]));
  const seal = sealer.next();
  await client.query(`INSERT INTO ${TABLE} (seq, hash, record) VALUES ($1, $2, $3)`, [
    record.seq,
    record.hash,
    seal ? sealRecordText(crypto, seal, record.seq, json) : json,
  ]);
  let purged = 0;
  for (const [from, to] of ranges) {
    const { rows } = await client.query<{ seq: string; hash: string; record: string; prev: string | null }>(
      `SELECT r.seq, r.hash, r.record, p.hash AS prev FROM ${TABLE} r LEFT JOIN ${TABLE} p ON p.seq = r.seq - 1 WHERE r.seq BETWEEN $1 AND $2 ORDER BY r.seq`,
      [from, to],
    );
    if (rows.length !== to - from + 1 || to >= record.seq || rows.some((r) => r.record.startsWith('{"hash":'))) {
      throw Object.assign(new Error(`rows ${from}..${to} cannot be purged (missing, not before the purge row, or purged already)`), {
        code: 'CUSTOS_PURGE_INVALID',
      });
    }
    await client.query(`INSERT INTO custos_audit_purge_grants (seq) SELECT generate_series($1::bigint, $2::bigint)`, [from, to]);
    for (const r of rows) {
      const seq = Number(r.seq);
      await client.query(`UPDATE ${TABLE} SET record = $1 WHERE seq = $2`, [renderTombstone(seq, r.prev ?? GENESIS_HASH, r.hash, record.seq), seq]);
      purged += 1;
    }
  }
  await client.query('DELETE FROM custos_audit_purge_grants');
  await client.query('COMMIT');
  return { record, purged };
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

interface Queued {
  readonly segments: CanonicalSegments;
  readonly deadline: number;
  resolve(record: AuditRecord): void;
  reject(err: unknown): void;
}

/**
 * Group commit: appends made while a transaction is under way wait for it and are written
 * together by the next one (one advisory lock, one multi-row INSERT, one COMMIT: one WAL
 * flush), chained in arrival order on the head read under the lock, so the chain stays one
 * across replicas. Each append resolves only after the COMMIT. A batch waits for a pooled
 * connection and the lock no longer than its earliest deadline; when the lock defeats it,
 * the appends past their deadline fail (`busy`) and the others wait on. A batch that fails
 * for another reason is retried one append per transaction, so one bad row does not deny
 * its neighbours.
 */
function createGroupCommitter(pool: pg.Pool, sealer: Sealer): (segments: CanonicalSegments, deadline: number) => Promise<AuditRecord> {
  const queue: Queued[] = [];
  let running = false;

  async function flush(): Promise<void> {
    running = true;
    while (queue.length > 0) {
      const batch = queue.splice(0);
      try {
        const records = await commitWithin(pool, batch, sealer);
        records.forEach((record, i) => batch[i]!.resolve(record));
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === '55P03' || code === 'CUSTOS_BUSY') {
          const now = Date.now();
          for (const item of batch) if (item.deadline <= now) item.reject(err);
          queue.unshift(...batch.filter((item) => item.deadline > now));
        } else if (batch.length === 1 || code === 'CUSTOS_STALLED') {
          for (const item of batch) item.reject(err);
        } else {
          await commitEach(batch);
        }
      }
    }
    running = false;
  }

  async function commitEach(batch: readonly Queued[]): Promise<void> {
    for (const item of batch) {
      try {
        item.resolve((await commitWithin(pool, [item], sealer))[0]!);
      } catch (err) {
        item.reject(err);
      }
    }
  }

  return (segments, deadline) =>
    new Promise<AuditRecord>((resolve, reject) => {
      queue.push({ segments, deadline, resolve, reject });
      if (!running) void flush();
    });
}

/**
 * One transaction for a batch: waits for a pooled connection and for the advisory lock no
 * longer than the batch's earliest deadline (lock_timeout is what is left of it), then gets
 * COMMIT_GRACE_MS to commit; a connection that overruns is destroyed, which aborts its transaction.
 */
async function commitWithin(pool: pg.Pool, batch: readonly Queued[], sealer: Sealer): Promise<AuditRecord[]> {
  const deadline = Math.min(...batch.map((item) => item.deadline));
  const client = await within(pool.connect(), deadline - Date.now(), 'CUSTOS_BUSY', (late) => late.release());
  let released = false;
  const release = (err?: Error): void => {
    if (released) return;
    released = true;
    client.release(err);
  };
  const run = async (): Promise<AuditRecord[]> => {
    const waitMs = Math.max(1, deadline - Date.now());
    const results = (await client.query(
      `BEGIN; SET LOCAL lock_timeout = ${waitMs}; SELECT pg_advisory_xact_lock(${APPEND_LOCK}); SELECT seq, hash FROM ${TABLE} ORDER BY seq DESC LIMIT 1`,
    )) as unknown as Array<pg.QueryResult<HeadRow>>;
    let prev = toHead(results[3]?.rows[0]);
    const values: string[] = [];
    const texts: string[] = [];
    for (const item of batch) {
      const seq = prev.seq + 1;
      const hash = sha256Hex(prev.hash + renderChainedRecord(item.segments, seq, prev.hash));
      const json = renderChainedRecord(item.segments, seq, prev.hash, hash);
      const seal = sealer.next();
      texts.push(json);
      values.push(`(${seq},'${hash}',${dollarQuoted(seal ? sealRecordText(crypto, seal, seq, json) : json)})`);
      prev = { seq, hash };
    }
    // One round trip for the rows and the COMMIT (a simple query: an error stops it before COMMIT, and the catch rolls back).
    await client.query(`INSERT INTO ${TABLE} (seq, hash, record) VALUES ${values.join(',')}; COMMIT`);
    return texts.map((json) => JSON.parse(json) as AuditRecord);
  };
  try {
    const records = await within(run(), deadline - Date.now() + COMMIT_GRACE_MS, 'CUSTOS_STALLED');
    release();
    return records;
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

/**
 * `text` as a PostgreSQL dollar-quoted literal, taken as it is (no escapes to add or undo): its
 * closing tag is the first place the tag occurs in the text followed by the tag (so neither a
 * tag inside the text nor one the text's end would complete, as `…$r` + `$r$`, closes it early).
 * Only for the text of a row built here (seq and hash are numbers and hex).
 */
export function dollarQuoted(text: string): string {
  for (let n = 0; ; n++) {
    const tag = n === 0 ? '$r$' : `$r${n}$`;
    if ((text + tag).indexOf(tag) === text.length) return tag + text + tag;
  }
}
