/**
 * The SQLite audit writer thread: it owns the store's one better-sqlite3 connection, so a
 * lock wait or an fsync never blocks the main event loop. Appends that arrive while a
 * transaction is in flight are committed together in the next one (group commit: one
 * BEGIN IMMEDIATE, one fsync), chained in arrival order; each append has its own deadline
 * for the lock and fails alone when it passes.
 *
 * A batch made only of `written` appends (result rows) is committed without the fsync
 * (synchronous=NORMAL for that one transaction), answered, and then made durable by an fsync
 * of the WAL file before the next batch is taken. Once such an fsync fails, every later append
 * fails: the store does not know what reached the disk.
 *
 * This file has no runtime imports: `sqlite-worker-link.ts` ships these functions to the
 * thread as source (`fn.toString()`), so the same code runs from dist/ and from the
 * TypeScript sources under test. They may use only their parameters and globals.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type * as NodeCrypto from 'node:crypto';
import type * as NodeFs from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import type { renderTombstone } from './retention-format.js';
import type { SealParams, sealRecordText } from './seal-format.js';

import type { CanonicalSegments, renderChainedRecord } from './chain-hash.js';

export interface SqliteWorkerConfig {
  readonly file: string;
  readonly readonly: boolean;
  readonly busyTimeoutMs: number;
  /**
   * During a lock outage (an append waited its whole busyTimeoutMs in vain and nothing has
   * been written since), how long a further append waits for the lock: enough for another
   * writer's commit, short of a lock that is held. So a denied call (intent row, then deny
   * row) waits about busyTimeoutMs, not twice that, and a long outage costs each call little.
   */
  readonly outageWaitMs: number;
  /** Caps the file size in pages (PRAGMA max_page_count): past it appends fail with SQLITE_FULL. */
  readonly maxPageCount?: number;
}

export type WorkerRequest =
  | {
      readonly id: number;
      readonly op: 'append';
      readonly segments: CanonicalSegments;
      readonly deadline: number;
      /** Answer once committed, before the fsync (AppendDurability `written`). */
      readonly written?: boolean;
      readonly seal?: SealParams;
    }
  | {
      readonly id: number;
      readonly op: 'purge';
      readonly segments: CanonicalSegments;
      readonly ranges: ReadonlyArray<readonly [number, number]>;
      readonly waitMs: number;
      readonly seal?: SealParams;
    }
  | { readonly id: number; readonly op: 'page'; readonly fromSeq: number; readonly limit: number }
  | { readonly id: number; readonly op: 'head' }
  | { readonly id: number; readonly op: 'settings' }
  | { readonly id: number; readonly op: 'stats' }
  | { readonly id: number; readonly op: 'close' };

/** What a failure carries across the thread boundary (never the entry). */
export interface WorkerFailure {
  readonly code?: string;
  readonly message: string;
  /** Set when opening failed because the file is not a usable store (ERR_AUDIT_STORE_INVALID). */
  readonly invalid?: boolean;
  /** Set when an append's deadline passed while waiting for the lock. */
  readonly timedOut?: boolean;
}

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WorkerFailure }
  /** A committed group: each append's id and its row's text, in one message. */
  | { readonly batch: ReadonlyArray<readonly [id: number, json: string]> };

/** The id of the reply to the open (sent once, before any other). */
export const OPEN_REPLY_ID = 0;

interface Pending {
  readonly id: number;
  readonly segments: CanonicalSegments;
  deadline: number;
  readonly written?: boolean;
  readonly seal?: SealParams;
}

interface Row {
  seq: number;
  hash: string;
}

/** The thread's main: opens the store, answers OPEN_REPLY_ID, then serves requests until `close`. */
export function runSqliteWorker(
  port: MessagePort,
  config: SqliteWorkerConfig,
  Database: typeof BetterSqlite3,
  crypto: typeof NodeCrypto,
  fs: typeof NodeFs,
  render: typeof renderChainedRecord,
  seal: typeof sealRecordText,
  tombstone: typeof renderTombstone,
): void {
  const GENESIS = '0'.repeat(64);
  const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS audit_records (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_purge_grants (seq INTEGER PRIMARY KEY) STRICT;
DROP TRIGGER IF EXISTS audit_records_no_update;
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
WHEN NOT (NEW.seq = OLD.seq AND NEW.hash = OLD.hash AND json_extract(NEW.record, '$.schema') = 'custos.purged/v1'
  AND EXISTS (SELECT 1 FROM audit_purge_grants WHERE seq = OLD.seq))
BEGIN SELECT RAISE(ABORT, 'custos audit rows are append-only (a recorded retention purge is the one exception)'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'custos audit rows are append-only'); END;
`;
  const FORMAT_VERSION = 2; // 2: the retention purge (audit_purge_grants, the update trigger's one exception)
  const OPEN_ID = 0; // OPEN_REPLY_ID: module constants are not shipped to the thread
  const reply = (id: number, value: unknown): void => port.postMessage({ id, ok: true, value });
  const fail = (id: number, error: WorkerFailure): void => port.postMessage({ id, ok: false, error });
  const describe = (err: unknown): WorkerFailure => {
    const e = err as { code?: unknown; message?: unknown } | null;
    return { code: typeof e?.code === 'string' ? e.code : undefined, message: typeof e?.message === 'string' ? e.message : 'failed' };
  };

  function open(): BetterSqlite3.Database {
    let db: BetterSqlite3.Database;
    try {
      db = new Database(config.file, { readonly: config.readonly, fileMustExist: config.readonly, timeout: config.busyTimeoutMs });
    } catch (err) {
      throw { ...describe(err), invalid: true, message: 'The sqlite audit store could not be opened.' };
    }
    try {
      if (config.readonly) {
        const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_records'").get();
        if (!table) throw { invalid: true, message: 'The file holds no Custos audit trail.' };
      } else {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.pragma('secure_delete = ON'); // a purged body is overwritten with zeros, not left in a free page
        db.transaction(() => {
          const version = db.pragma('user_version', { simple: true }) as number;
          if (version > FORMAT_VERSION) throw { invalid: true, message: 'The sqlite audit store was written by a newer Custos.' };
          db.exec(SCHEMA_SQL);
          if (version < FORMAT_VERSION) db.pragma(`user_version = ${FORMAT_VERSION}`);
        }).immediate();
        if (config.maxPageCount !== undefined) db.pragma(`max_page_count = ${config.maxPageCount}`);
      }
      return db;
    } catch (err) {
      db.close();
      if ((err as WorkerFailure).invalid) throw err;
      throw { ...describe(err), invalid: true, message: 'The file is not a usable sqlite audit store.' };
    }
  }

  let db: BetterSqlite3.Database;
  try {
    db = open();
  } catch (err) {
    fail(OPEN_ID, err as WorkerFailure);
    port.close();
    return;
  }
  const lastRow = db.prepare('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1');
  const page = db.prepare('SELECT seq, hash, record FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?');
  const insert = config.readonly ? undefined : db.prepare('INSERT INTO audit_records (seq, hash, record) VALUES (?, ?, ?)');
  const bySeq = db.prepare('SELECT seq, hash, record FROM audit_records WHERE seq = ?');
  const grant = config.readonly ? undefined : db.prepare('INSERT INTO audit_purge_grants (seq) VALUES (?)');
  const toTombstone = config.readonly ? undefined : db.prepare('UPDATE audit_records SET record = ? WHERE seq = ?');
  // The statements every commit runs, prepared once (db.exec and db.pragma compile their SQL on every call).
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commitTx = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const syncNormal = db.prepare('PRAGMA synchronous = NORMAL');
  const syncFull = db.prepare('PRAGMA synchronous = FULL');
  const noWait = db.prepare('PRAGMA busy_timeout = 0');
  if (!config.readonly) noWait.run(); // the write lock is first tried without waiting; see takeLock
  const sha256 = (text: string): string => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
  const queue: Pending[] = [];
  let scheduled = false;
  let closing = false;
  let outage = false;
  const stats = { commits: 0, rows: 0, syncs: 0 };
  // The WAL file a `written` batch is synced through; none (every commit syncs) without WAL.
  const walFile = !config.readonly && db.pragma('journal_mode', { simple: true }) === 'wal' ? `${config.file}-wal` : undefined;
  let syncFailure: WorkerFailure | undefined;

  /** Makes every committed row durable: an fsync of the WAL file (what a synchronous=FULL commit does). */
  function syncWal(file: string): void {
    try {
      const fd = fs.openSync(file, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      stats.syncs += 1;
    } catch (err) {
      syncFailure = {
        code: 'SQLITE_IOERR_FSYNC',
        message: `The audit store could not make its rows durable (${describe(err).code ?? 'fsync failed'}); it refuses further appends.`,
      };
    }
  }

  /**
   * BEGIN IMMEDIATE: first without waiting (the lock is free unless another process writes the
   * file), then, when it is held, waiting up to `waitMs` for it (busy_timeout, set back to 0).
   */
  function takeLock(waitMs: number): void {
    try {
      begin.run();
    } catch (err) {
      if (!isBusy(err) || waitMs <= 0) throw err;
      db.pragma(`busy_timeout = ${waitMs}`);
      try {
        begin.run();
      } finally {
        noWait.run();
      }
    }
  }

  /** One transaction for the whole batch: every row chained on the one before, one fsync (none when `relaxed`: the caller syncs). */
  function commit(batch: readonly Pending[], waitMs: number, relaxed = false): string[] {
    if (relaxed) syncNormal.run();
    try {
      return commitBatch(batch, waitMs);
    } finally {
      if (relaxed) syncFull.run();
    }
  }

  function commitBatch(batch: readonly Pending[], waitMs: number): string[] {
    const out: string[] = [];
    takeLock(waitMs);
    outage = false;
    try {
      let prev = (lastRow.get() as Row | undefined) ?? { seq: 0, hash: GENESIS };
      for (const item of batch) {
        const seq = prev.seq + 1;
        const hash = sha256(prev.hash + render(item.segments, seq, prev.hash));
        const json = render(item.segments, seq, prev.hash, hash);
        insert!.run(seq, hash, item.seal ? seal(crypto, item.seal, seq, json) : json);
        out.push(json);
        prev = { seq, hash };
      }
      commitTx.run();
      stats.commits += 1;
      stats.rows += out.length;
      return out;
    } catch (err) {
      if (db.inTransaction) rollback.run();
      throw err;
    }
  }

  /**
   * One batch of a retention purge, in one transaction: the purge row is appended (chained as
   * any row), then every row it lists becomes its tombstone (hash and prev_hash kept), each
   * UPDATE let through the trigger by a grant that lives only inside this transaction.
   */
  function purge(request: Extract<WorkerRequest, { op: 'purge' }>): { json: string; purged: number } {
    takeLock(request.waitMs);
    outage = false;
    try {
      const prev = (lastRow.get() as Row | undefined) ?? { seq: 0, hash: GENESIS };
      const seq = prev.seq + 1;
      const hash = sha256(prev.hash + render(request.segments, seq, prev.hash));
      const json = render(request.segments, seq, prev.hash, hash);
      insert!.run(seq, hash, request.seal ? seal(crypto, request.seal, seq, json) : json);
      let purged = 0;
      for (const [from, to] of request.ranges) {
        for (let target = from; target <= to; target++) {
          const row = bySeq.get(target) as (Row & { record: string }) | undefined;
          if (!row || target >= seq || row.record.startsWith('{"hash":')) {
            throw { code: 'CUSTOS_PURGE_INVALID', message: `row ${target} cannot be purged (missing, not before the purge row, or purged already)` };
          }
          const before = target === 1 ? undefined : (bySeq.get(target - 1) as Row | undefined);
          grant!.run(target);
          toTombstone!.run(tombstone(target, before?.hash ?? GENESIS, row.hash, seq), target);
          purged += 1;
        }
      }
      db.exec('DELETE FROM audit_purge_grants');
      db.exec('COMMIT');
      stats.commits += 1;
      stats.rows += 1;
      try {
        db.pragma('wal_checkpoint(TRUNCATE)'); // the old pages leave the WAL too
      } catch {
        // a reader holds the WAL; SQLite checkpoints it later
      }
      return { json, purged };
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }

  const isBusy = (err: unknown): boolean => /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown } | null)?.code ?? ''));

  /**
   * Takes everything queued, waits for the lock no longer than the earliest deadline, commits.
   * A deadline bounds the wait for a lock another connection holds, not the time an append
   * spent queued behind this thread's own commits (a slow fsync, a starved CPU): an append
   * whose deadline passed in the queue still gets one try without waiting, and fails only
   * when that try finds the lock held.
   */
  function drain(): void {
    scheduled = false;
    if (queue.length === 0) return;
    const now = Date.now();
    if (outage) for (const item of queue) item.deadline = Math.min(item.deadline, now + config.outageWaitMs);
    const wait = Math.max(0, Math.min(...queue.map((q) => q.deadline)) - now);
    const batch = queue.splice(0);
    const relaxed = walFile !== undefined && batch.every((item) => item.written === true);
    try {
      const written = commit(batch, wait, relaxed);
      port.postMessage({ batch: written.map((json, i) => [batch[i]!.id, json]) }); // one message for the batch
      if (relaxed) syncWal(walFile);
    } catch (err) {
      if (isBusy(err)) failExpired(batch);
      else if (batch.length === 1) fail(batch[0]!.id, describe(err));
      else commitEach(batch); // one bad row must not deny its neighbours
    }
    schedule();
  }

  /** The lock was held: appends past their deadline fail (an outage begins), the others wait on, in order. */
  function failExpired(batch: readonly Pending[]): void {
    const now = Date.now();
    const waiting = batch.filter((item) => item.deadline > now);
    for (const item of batch) {
      if (item.deadline > now) continue;
      outage = true;
      fail(item.id, { code: 'SQLITE_BUSY', message: 'The audit store stayed locked past the busy timeout.', timedOut: true });
    }
    queue.unshift(...waiting);
  }

  function commitEach(batch: readonly Pending[]): void {
    for (const [i, item] of batch.entries()) {
      try {
        reply(item.id, commit([item], Math.max(0, item.deadline - Date.now()))[0]);
      } catch (err) {
        if (isBusy(err)) {
          failExpired(batch.slice(i));
          return;
        }
        fail(item.id, describe(err));
      }
    }
  }

  function schedule(): void {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(drain); // lets every message already delivered join the batch
  }

  function serve(request: WorkerRequest): void {
    try {
      switch (request.op) {
        case 'append':
          if (!insert) return fail(request.id, { code: 'SQLITE_READONLY', message: 'The audit store is open read-only.' });
          if (syncFailure) return fail(request.id, syncFailure);
          queue.push({ id: request.id, segments: request.segments, deadline: request.deadline, written: request.written, seal: request.seal });
          return schedule();
        case 'purge':
          if (!insert) return fail(request.id, { code: 'SQLITE_READONLY', message: 'The audit store is open read-only.' });
          if (syncFailure) return fail(request.id, syncFailure);
          return reply(request.id, purge(request));
        case 'page':
          return reply(request.id, page.all(request.fromSeq, request.limit));
        case 'head':
          return reply(request.id, (lastRow.get() as Row | undefined) ?? { seq: 0, hash: GENESIS });
        case 'settings':
          return reply(request.id, {
            journalMode: db.pragma('journal_mode', { simple: true }),
            synchronous: db.pragma('synchronous', { simple: true }),
            busyTimeoutMs: config.busyTimeoutMs,
          });
        case 'stats':
          return reply(request.id, { ...stats });
        case 'close':
          return close(request.id);
      }
    } catch (err) {
      fail(request.id, describe(err));
    }
  }

  function close(id: number): void {
    if (queue.length > 0) drain(); // what was appended before close is written or failed first
    if (queue.length > 0) return void setImmediate(() => close(id));
    closing = true;
    if (!config.readonly && config.file !== ':memory:') {
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // another connection is busy; SQLite checkpoints later
      }
    }
    db.close();
    reply(id, null);
    port.close();
  }

  const receive = (request: WorkerRequest): void => {
    if (closing) return fail(request.id, { code: 'CUSTOS_CLOSED', message: 'The audit store is closed.' });
    serve(request);
  };
  // One request, or the requests the main thread batched into one message (sqlite-worker-link.ts), in order.
  port.on('message', (message: WorkerRequest | readonly WorkerRequest[]) => {
    if (Array.isArray(message)) for (const request of message as readonly WorkerRequest[]) receive(request);
    else receive(message as WorkerRequest);
  });
  reply(OPEN_ID, null);
}
