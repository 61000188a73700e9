/**
 * The embedded audit store: one SQLite file in WAL mode with synchronous=FULL, so a row is
 * on disk when append resolves (a `written` append: committed when it resolves, synced by the
 * writer thread right after, see sqlite-worker.ts). A writer thread owns the connection (sqlite-worker.ts):
 * lock waits and fsyncs happen off the event loop, concurrent appends share one
 * transaction, and BEGIN IMMEDIATE serialises writers across processes sharing the file.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CustosError } from '../kernel/index.js';
import type { AppendOptions, AuditEntry, AuditRecord, Clock } from '../kernel/index.js';
import { purgeEntryRanges } from './retention-format.js';
import { createSealer } from './sealing.js';
import type { Sealer } from './sealing.js';
import { createReaders, prepareEntry, toAppendError, toSegments } from './store-common.js';
import type { StoredRow } from './store-common.js';
import { startSqliteWorker } from './sqlite-worker-link.js';
import type { WorkerLink } from './sqlite-worker-link.js';
import type { WorkerFailure } from './sqlite-worker.js';
import type { AuditStoreAdmin, AuditStoreOptions, ChainHead } from './types.js';

export const DEFAULT_BUSY_TIMEOUT_MS = 250;
/**
 * How long past its lock deadline an append waits for the writer thread before it is denied
 * anyway (a stalled disk, a hung fsync). The lock wait itself is bounded by busyTimeoutMs.
 */
export const COMMIT_GRACE_MS = 2000;
/** While the lock has already defeated one append (an outage), how long further appends wait for it; see sqlite-worker.ts. */
export const OUTAGE_WAIT_MS = 25;
const PAGE_SIZE = 500;
/** A purge batch (run from the CLI beside a serving Custos) waits this long for the write lock. */
export const PURGE_LOCK_WAIT_MS = 10_000;
const SYSTEM_CLOCK: Clock = { now: () => new Date() };

/** `sqlite:PATH` → absolute path (relative to process.cwd()), or `:memory:`. */
export function parseSqliteLocation(uri: string): string {
  const rest = uri.replace(/^sqlite:/i, '');
  if (rest === '' || rest.includes('\0')) {
    throw new CustosError('ERR_AUDIT_STORE_INVALID', 'An sqlite audit store needs a path: sqlite:PATH.');
  }
  return rest === ':memory:' ? rest : resolve(process.cwd(), rest);
}

/** The settings in force on the store's connection, for tests and evidence of storage guarantees. */
export interface SqliteSettings {
  readonly journalMode: string;
  /** 2 = FULL. */
  readonly synchronous: number;
  readonly busyTimeoutMs: number;
}

/** What the writer thread has done since the store opened: `rows / commits` is the group-commit factor. */
export interface SqliteWriteStats {
  readonly commits: number;
  readonly rows: number;
  /** WAL fsyncs after a batch of `written` appends (committed without one). */
  readonly syncs: number;
}

export interface SqliteAuditStore extends AuditStoreAdmin {
  settings(): Promise<SqliteSettings>;
  stats(): Promise<SqliteWriteStats>;
}

export interface SqliteStoreOptions extends AuditStoreOptions {
  /** Caps the file at this many pages; past it appends fail with `disk_full`. Simulates a full disk in tests. */
  readonly maxPageCount?: number;
}

export async function createSqliteAuditStore(uri: string, options: SqliteStoreOptions): Promise<SqliteAuditStore> {
  const file = parseSqliteLocation(uri);
  const readonly = options.readonly === true;
  try {
    if (!readonly && file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  } catch (err) {
    throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The sqlite audit store could not be opened.', { cause: err });
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const link = await startSqliteWorker({
    file,
    readonly,
    busyTimeoutMs,
    outageWaitMs: Math.min(OUTAGE_WAIT_MS, busyTimeoutMs),
    maxPageCount: options.maxPageCount,
  }).catch((failure: WorkerFailure) => {
    throw new CustosError('ERR_AUDIT_STORE_INVALID', failure.invalid ? failure.message : 'The sqlite audit store could not be opened.', {
      cause: causeOf(failure),
    });
  });
  return bindStore(link, { ...options, busyTimeoutMs }, createSealer(options.keys));
}

/** A plain Error carrying SQLite's code (e.g. SQLITE_BUSY), to attach as `cause`. */
function causeOf(failure: WorkerFailure): Error {
  return Object.assign(new Error(failure.message), failure.code === undefined ? {} : { code: failure.code });
}

function bindStore(link: WorkerLink, options: SqliteStoreOptions & { busyTimeoutMs: number }, sealer: Sealer): SqliteAuditStore {
  const clock = options.clock ?? SYSTEM_CLOCK;
  let closed = false;

  function assertUsable(): void {
    if (closed) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit store is closed.', { detail: { reason: 'closed' } });
  }

  async function request<T>(body: Parameters<WorkerLink['request']>[0]): Promise<T> {
    assertUsable();
    return link.request<T>(body).catch((failure: WorkerFailure) => {
      throw toUnavailable(failure);
    });
  }

  async function* readPages(fromSeq: number, pageSize = PAGE_SIZE): AsyncGenerator<StoredRow> {
    const size = Math.min(pageSize, PAGE_SIZE);
    let next = fromSeq;
    for (;;) {
      const rows = await request<StoredRow[]>({ op: 'page', fromSeq: next, limit: size });
      for (const row of rows) yield row;
      if (rows.length < size) return;
      next = rows[rows.length - 1]!.seq + 1;
    }
  }

  return {
    async append(entry: AuditEntry, appendOptions?: AppendOptions): Promise<AuditRecord> {
      try {
        assertUsable();
        if (options.readonly) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit store is open read-only.', { detail: { reason: 'readonly' } });
        const segments = toSegments(prepareEntry(entry, clock));
        const deadline = Date.now() + options.busyTimeoutMs;
        const seal = sealer.next();
        const written = appendOptions?.durability === 'written' ? { written: true } : {};
        const json = await link.request<string>(
          { op: 'append', segments, deadline, ...written, ...(seal ? { seal } : {}) },
          options.busyTimeoutMs + COMMIT_GRACE_MS,
        );
        return JSON.parse(json) as AuditRecord;
      } catch (err) {
        throw toUnavailable(err);
      }
    },
    async purge(entry: AuditEntry) {
      try {
        assertUsable();
        const ranges = purgeEntryRanges(entry);
        const segments = toSegments(prepareEntry(entry, clock));
        const seal = sealer.next();
        const waitMs = Math.max(options.busyTimeoutMs, PURGE_LOCK_WAIT_MS);
        const done = await link.request<{ json: string; purged: number }>({ op: 'purge', segments, ranges, waitMs, ...(seal ? { seal } : {}) });
        return { record: JSON.parse(done.json) as AuditRecord, purged: done.purged };
      } catch (err) {
        throw toUnavailable(err);
      }
    },
    ...createReaders(readPages, sealer),
    head: () => request<ChainHead>({ op: 'head' }),
    settings: () => request<SqliteSettings>({ op: 'settings' }),
    stats: () => request<SqliteWriteStats>({ op: 'stats' }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await link.close();
    },
  };
}

const REASON_BY_SQLITE_CODE: ReadonlyArray<[RegExp, string]> = [
  [/^SQLITE_BUSY/, 'busy'],
  [/^SQLITE_LOCKED/, 'busy'],
  [/^SQLITE_READONLY/, 'readonly'],
  [/^SQLITE_FULL/, 'disk_full'],
  [/^SQLITE_IOERR/, 'io_error'],
  [/^SQLITE_CONSTRAINT/, 'constraint'],
  [/^CUSTOS_STALLED/, 'stalled'],
  [/^CUSTOS_CLOSED/, 'closed'],
  [/^CUSTOS_WORKER_FAILED/, 'io_error'],
  [/^CUSTOS_PURGE_INVALID/, 'purge_invalid'],
];

function toUnavailable(err: unknown): CustosError {
  if (err instanceof CustosError || err instanceof Error) return toAppendError(err, REASON_BY_SQLITE_CODE);
  return toAppendError(causeOf(err as WorkerFailure), REASON_BY_SQLITE_CODE);
}
