/**
 * Chain verification off the calling thread, for a verifier that runs inside a serving process
 * (the monitor's trail watch). The approach is verify-parallel's: a worker thread checks chunks of
 * rows with `checkChunk` (each row sound and canonical, its hash over its text, the links inside
 * the chunk) and this thread joins the clean chunks to the chain (`ChainWalk.advance`, a few
 * comparisons per chunk). A chunk the thread does not show clean (a break, a tombstone, a sealed
 * row, a non-canonical form) is stepped row by row here with the sequential verifier, from the
 * store's own `readRaw`, so every report is exactly the sequential one.
 *
 * Where the rows come from:
 * - a trail stored in the clear (not encrypted at rest), SQLite or PostgreSQL: the thread reads it
 *   itself, through its own read-only SQLite connection or its own PostgreSQL connection, so
 *   neither the rows nor their text cross to this thread;
 * - otherwise (an encrypted or in-memory trail): this thread reads `readRaw` and hands the texts
 *   over in chunks.
 * Either way the thread also checks the store's seq and hash columns against the texts.
 *
 * One thread, started at the first verification and kept (unreferenced while idle) until `close`,
 * which ends it and fails the verification in flight.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { canonicalTextScan } from './canonical-text.js';
import type { ChainHead, RawRow, VerifyReport } from './types.js';
import { ChainWalk } from './verify-chain.js';
import { withStartupSettings } from './postgres-store.js';
import { checkChunk } from './verify-parallel.js';

/** A trail the thread may read itself: its rows are stored in the clear (an SQLite file, a PostgreSQL URL). */
export type DirectTrail = { readonly sqliteFile: string } | { readonly postgresUrl: string };

/** The rows to verify: `readRaw(fromSeq)` onward; `direct` when the thread may read them itself. */
export interface WatchedRows {
  readonly readRaw: (fromSeq: number) => AsyncIterable<RawRow>;
  readonly fromSeq: number;
  readonly direct?: DirectTrail;
}

/** The PostgreSQL store's table (postgres-store.ts); a test reads a real PostgreSQL trail through it. */
const POSTGRES_TABLE = 'custos_audit_records';

export interface OffThreadVerifyOptions {
  readonly after?: ChainHead;
  readonly expectHead?: ChainHead;
}

/** Where the rows of the verifications so far were checked. */
export interface OffThreadStats {
  /** Rows the worker thread read itself and showed clean (joined here by chunk). */
  readonly rowsOffThread: number;
  /** Rows read here and handed to the worker thread, which showed them clean. */
  readonly rowsHanded: number;
  /** Rows stepped on this thread (chunks not shown clean, the expected head's row). */
  readonly rowsHere: number;
  /** Worker threads running now (0 or 1). */
  readonly threads: number;
}

export interface OffThreadVerifier {
  verify(rows: WatchedRows, options?: OffThreadVerifyOptions): Promise<VerifyReport>;
  stats(): OffThreadStats;
  /** Ends the thread; a verification in flight rejects. */
  close(): Promise<void>;
}

/** What the thread says of a chunk: its rows read, the store's seq of the last one, and whether all are plainly sound. */
type WatchCheck =
  | { readonly clean: false; readonly read: number; readonly lastSeq: number }
  | {
      readonly clean: true;
      readonly read: number;
      readonly lastSeq: number;
      readonly first: { readonly seq: number; readonly prevHash: string };
      readonly last: ChainHead;
      readonly special: readonly string[];
    };

type WatchTask =
  | { readonly seqs: readonly number[]; readonly hashes: readonly string[]; readonly lines: readonly string[] }
  | { readonly trail: TrailConnection; readonly fromSeq: number; readonly limit: number };

/** How the thread connects: the file, or pg's settings (a read-only session). */
type TrailConnection = { readonly sqliteFile: string } | { readonly postgres: { readonly connectionString: string; readonly options: string } };

function connectionOf(trail: DirectTrail): TrailConnection {
  if ('sqliteFile' in trail) return trail;
  return { postgres: withStartupSettings(trail.postgresUrl, { default_transaction_read_only: 'on' }) };
}

/** Rows per chunk read by the thread (only a verdict crosses back). */
const DIRECT_CHUNK_ROWS = 4096;
/** Rows per chunk handed over from here (their texts are copied: about 0.9 MB of 0.9-KB rows). */
const HANDED_CHUNK_ROWS = 1000;
/** Chunks handed over before the first verdict is awaited, so the thread is not idle while this one reads. */
const HANDED_AHEAD = 2;

/**
 * The thread's check of one chunk (self-contained: it runs from its source). `checkChunk` with
 * the store's columns checked too: each row's hash column is its text's hash and the seq
 * columns run on from the first row's seq, so a clean chunk is clean as `RawRow`s.
 */
function checkColumns(
  seqs: readonly number[],
  hashes: readonly string[],
  lines: readonly string[],
  schema: string,
  check: typeof checkChunk,
  scan: Parameters<typeof checkChunk>[2],
  sha256: (text: string) => string,
  hex: (digest: string) => string,
): WatchCheck {
  const read = lines.length;
  const lastSeq = read > 0 ? seqs[read - 1]! : 0;
  const leafInto = (digest: string, hashHex: string, _leaves: Uint8Array, i: number): boolean => hashHex === hashes[i] && hex(digest) === hashHex;
  const result = read > 0 ? check(lines, schema, scan, (_i, line, prev, from, to) => sha256(prev + line.slice(0, from) + line.slice(to)), leafInto) : undefined;
  if (!result?.clean) return { clean: false, read, lastSeq };
  for (let i = 0; i < read; i += 1) if (seqs[i] !== result.first.seq + i) return { clean: false, read, lastSeq };
  return { clean: true, read, lastSeq, first: result.first, last: result.last, special: result.special };
}

type PageReader = (fromSeq: number, limit: number) => Promise<Array<{ seq: number | string; hash: string; record: string }>>;

/** The thread's loop: one task per message; a trail's connection opened once and kept. */
function runWatchWorker(
  port: { on(event: 'message', fn: (m: { id: number; task: WatchTask }) => void): void; postMessage(m: unknown): void },
  checkTask: (seqs: number[], hashes: string[], lines: string[]) => WatchCheck,
  openTrail: (trail: TrailConnection) => PageReader,
): void {
  const readers = new Map<string, PageReader>();
  const failed = (id: number, err: unknown): void => {
    const e = err as { code?: unknown; message?: unknown };
    port.postMessage({ id, error: { code: typeof e?.code === 'string' ? e.code : 'CUSTOS_WATCH_THREAD', message: String(e?.message ?? err) } });
  };
  port.on('message', ({ id, task }) => {
    if (!('trail' in task)) {
      try {
        port.postMessage({ id, result: checkTask(task.seqs as number[], task.hashes as string[], task.lines as string[]) });
      } catch (err) {
        failed(id, err);
      }
      return;
    }
    const key = JSON.stringify(task.trail);
    Promise.resolve()
      .then(() => {
        let read = readers.get(key);
        if (!read) readers.set(key, (read = openTrail(task.trail)));
        return read(task.fromSeq, task.limit);
      })
      .then((rows) =>
        port.postMessage({
          id,
          result: checkTask(
            rows.map((r) => Number(r.seq)),
            rows.map((r) => r.hash),
            rows.map((r) => r.record),
          ),
        }),
      )
      .catch((err: unknown) => failed(id, err));
  });
}

/**
 * Opens a trail in the thread (self-contained: it runs from its source): an SQLite file read-only,
 * or a PostgreSQL pool of one connection whose queries are bounded (a stalled server fails the pass).
 */
function openDirectTrail(
  trail: TrailConnection,
  table: string,
  Database: new (file: string, o: object) => { pragma(s: string): unknown; prepare(sql: string): { all(...a: unknown[]): unknown[] } },
  pg: { Pool: new (o: object) => { on(e: string, f: () => void): void; query(sql: string, v: unknown[]): Promise<{ rows: unknown[] }> } },
): PageReader {
  type Rows = Awaited<ReturnType<PageReader>>;
  if ('sqliteFile' in trail) {
    const db = new Database(trail.sqliteFile, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 1000');
    const page = db.prepare('SELECT seq, hash, record FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?');
    return async (fromSeq, limit) => page.all(fromSeq, limit) as Rows;
  }
  const pool = new pg.Pool({ ...trail.postgres, max: 1, connectionTimeoutMillis: 10_000, query_timeout: 60_000 });
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query
  const sql = `SELECT seq, hash, record FROM ${table} WHERE seq >= $1 ORDER BY seq LIMIT $2`;
  return async (fromSeq, limit) => (await pool.query(sql, [fromSeq, limit])).rows as Rows;
}

const require = createRequire(import.meta.url);

function workerSource(): string {
  return [
    "'use strict';",
    "const { parentPort, workerData } = require('node:worker_threads');",
    "const { hash } = require('node:crypto');",
    `const checkChunk = ${checkChunk.toString()};`,
    `const checkColumns = ${checkColumns.toString()};`,
    `const runWatchWorker = ${runWatchWorker.toString()};`,
    `const scan = (${canonicalTextScan.toString()})();`,
    "const sha256 = (text) => hash('sha256', text, 'binary');",
    'const digestBuffer = Buffer.alloc(32);',
    "const hex = (digest) => (digestBuffer.write(digest, 0, 'latin1'), digestBuffer.toString('hex'));",
    `const openDirectTrail = ${openDirectTrail.toString()};`,
    // Loaded when first used: a trail of the other kind never loads its driver.
    `const openTrail = (trail) => openDirectTrail(trail, ${JSON.stringify(POSTGRES_TABLE)}, 'sqliteFile' in trail ? require(workerData.betterSqlite3) : undefined, 'postgres' in trail ? require(workerData.pg) : undefined);`,
    `runWatchWorker(parentPort, (seqs, hashes, lines) => checkColumns(seqs, hashes, lines, ${JSON.stringify(AUDIT_SCHEMA)}, checkChunk, scan, sha256, hex), openTrail);`,
  ].join('\n');
}

/** The error a thread failure or a closed verifier rejects with (the trail watch logs its code). */
function threadError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** One worker thread and its requests: started when first asked, referenced only while a request waits. */
function createWatchThread(): { check(task: WatchTask): Promise<WatchCheck>; running(): boolean; close(): Promise<void> } {
  let worker: Worker | undefined;
  let nextId = 0;
  let closed = false;
  const waiting = new Map<number, { resolve(c: WatchCheck): void; reject(e: Error): void }>();
  const failAll = (error: Error): void => {
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  const start = (): Worker => {
    const w = new Worker(workerSource(), { eval: true, workerData: { betterSqlite3: require.resolve('better-sqlite3'), pg: require.resolve('pg') } });
    w.on('message', ({ id, result, error }: { id: number; result?: WatchCheck; error?: { code: string; message: string } }) => {
      const entry = waiting.get(id);
      waiting.delete(id);
      if (waiting.size === 0) w.unref();
      if (error) entry?.reject(threadError(error.code, `the trail could not be checked on the verification thread: ${error.message}`));
      else entry?.resolve(result!);
    });
    w.on('error', (err) => failAll(threadError('CUSTOS_WATCH_THREAD', `the verification thread failed: ${err.name}`)));
    w.on('exit', () => {
      if (worker === w) worker = undefined;
      failAll(threadError('CUSTOS_CLOSED', 'the verification thread ended'));
    });
    return w;
  };
  return {
    check(task) {
      if (closed) return Promise.reject(threadError('CUSTOS_CLOSED', 'the verifier is closed'));
      worker ??= start();
      const w = worker;
      w.ref();
      return new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        w.postMessage({ id, task });
      });
    },
    running: () => worker !== undefined,
    async close() {
      closed = true;
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
      failAll(threadError('CUSTOS_CLOSED', 'the verifier is closed'));
    },
  };
}

type CleanCheck = Extract<WatchCheck, { clean: true }>;

export function createOffThreadVerifier(): OffThreadVerifier {
  const counts = { rowsOffThread: 0, rowsHanded: 0, rowsHere: 0 };
  const thread = createWatchThread();

  /** Joins a clean chunk to the walk; false when it does not follow on (the walk then steps through it). */
  function join(walk: ChainWalk, check: CleanCheck, read: 'rowsOffThread' | 'rowsHanded'): boolean {
    const special = check.special.map((text) => JSON.parse(text) as AuditRecord);
    if (!walk.advance(check.read, check.first, check.last, special)) return false;
    counts[read] += check.read;
    return true;
  }

  /** Steps `rows` here; false once the chain broke. */
  function step(walk: ChainWalk, rows: Iterable<RawRow>): boolean {
    for (const row of rows) {
      counts.rowsHere += 1;
      if (!walk.step(row)) return false;
    }
    return true;
  }

  /** `count` rows from `fromSeq`, read here through the store (a chunk the thread did not show clean). */
  async function stepFromStore(walk: ChainWalk, source: WatchedRows, fromSeq: number, count: number): Promise<boolean> {
    let left = count;
    for await (const row of source.readRaw(fromSeq)) {
      counts.rowsHere += 1;
      if (!walk.step(row)) return false;
      if (--left === 0) break;
    }
    return true;
  }

  /** The thread reads the trail chunk by chunk; the expected head's row is a chunk of its own (stepped here, one row). */
  async function verifyDirect(walk: ChainWalk, source: WatchedRows, trail: TrailConnection, expectHead: ChainHead | undefined): Promise<void> {
    let next = source.fromSeq;
    for (;;) {
      const pinned = expectHead && next <= expectHead.seq ? expectHead.seq : undefined;
      const limit = pinned === undefined ? DIRECT_CHUNK_ROWS : pinned === next ? 1 : Math.min(DIRECT_CHUNK_ROWS, pinned - next);
      const check = await thread.check({ trail, fromSeq: next, limit });
      if (check.read === 0) return;
      const joined = check.clean && join(walk, check, 'rowsOffThread');
      if (!joined && !(await stepFromStore(walk, source, next, check.read))) return;
      if (check.read < limit && pinned === undefined) return;
      next = check.lastSeq + 1;
    }
  }

  /** This thread reads the rows and hands them over in chunks, HANDED_AHEAD ahead; each chunk's rows are kept until its verdict. */
  async function verifyHanded(walk: ChainWalk, source: WatchedRows): Promise<void> {
    const queued: Array<{ rows: RawRow[]; check: Promise<WatchCheck> }> = [];
    let broken = false;
    const settle = async (): Promise<void> => {
      const { rows, check } = queued.shift()!;
      const result = await check;
      if (broken || (result.clean && join(walk, result, 'rowsHanded'))) return;
      broken = !step(walk, rows);
    };
    const hand = (rows: RawRow[]): void => {
      const check = thread.check({ seqs: rows.map((r) => r.seq), hashes: rows.map((r) => r.hash), lines: rows.map((r) => r.json) });
      check.catch(() => undefined); // awaited in order by settle; a failure is seen there
      queued.push({ rows, check });
    };
    let chunk: RawRow[] = [];
    for await (const row of source.readRaw(source.fromSeq)) {
      if (chunk.push(row) < HANDED_CHUNK_ROWS) continue;
      hand(chunk);
      chunk = [];
      while (queued.length > HANDED_AHEAD) await settle();
      if (broken) return;
    }
    if (chunk.length > 0) hand(chunk);
    while (queued.length > 0 && !broken) await settle();
  }

  return {
    async verify(source, options = {}) {
      const walk = new ChainWalk(options);
      if (source.direct) await verifyDirect(walk, source, connectionOf(source.direct), options.expectHead);
      else await verifyHanded(walk, source);
      return walk.finish();
    },
    stats: () => ({ ...counts, threads: thread.running() ? 1 : 0 }),
    close: () => thread.close(),
  };
}
