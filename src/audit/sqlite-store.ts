/**
 * The embedded audit store: one SQLite file in WAL mode with synchronous=FULL, so a
 * row is on disk when append resolves. Rows are appended inside BEGIN IMMEDIATE, which
 * serialises writers across connections and processes sharing the file.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { CustosError, GENESIS_HASH } from '../kernel/index.js';
import type { AuditEntry, AuditRecord, Clock } from '../kernel/index.js';
import { chainRecord } from './chain-hash.js';
import { createReaders, prepareEntry, toAppendError } from './store-common.js';
import type { StoredRow } from './store-common.js';
import type { AuditStoreAdmin, AuditStoreOptions, ChainHead } from './types.js';

export const DEFAULT_BUSY_TIMEOUT_MS = 2000;
const FORMAT_VERSION = 1;
const PAGE_SIZE = 500;
const SYSTEM_CLOCK: Clock = { now: () => new Date() };

const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS audit_records (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'custos audit rows are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'custos audit rows are append-only'); END;
`;

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

export interface SqliteAuditStore extends AuditStoreAdmin {
  settings(): SqliteSettings;
}

export async function createSqliteAuditStore(uri: string, options: AuditStoreOptions): Promise<SqliteAuditStore> {
  const file = parseSqliteLocation(uri);
  const db = openDatabase(file, options);
  return bindStore(db, file, options);
}

function openDatabase(file: string, options: AuditStoreOptions): Database.Database {
  const readonly = options.readonly === true;
  let db: Database.Database;
  try {
    if (!readonly && file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, { readonly, fileMustExist: readonly, timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (err) {
    throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The sqlite audit store could not be opened.', { cause: err });
  }
  try {
    if (readonly) assertInitialised(db);
    else initialise(db);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof CustosError) throw err;
    throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The file is not a usable sqlite audit store.', { cause: err });
  }
}

function initialise(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > FORMAT_VERSION) {
      throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The sqlite audit store was written by a newer Custos.');
    }
    db.exec(SCHEMA_SQL);
    if (version < FORMAT_VERSION) db.pragma(`user_version = ${FORMAT_VERSION}`);
  }).immediate();
}

function assertInitialised(db: Database.Database): void {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_records'").get();
  if (!table) throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The file holds no Custos audit trail.');
}

function bindStore(db: Database.Database, file: string, options: AuditStoreOptions): SqliteAuditStore {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const lastRow = db.prepare('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1');
  const page = db.prepare('SELECT seq, hash, record FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?');
  const insert = options.readonly ? undefined : db.prepare('INSERT INTO audit_records (seq, hash, record) VALUES (?, ?, ?)');
  const appendTx = db.transaction((fields: Omit<AuditRecord, 'hash' | 'seq' | 'prev_hash'>): AuditRecord => {
    const prev = (lastRow.get() as ChainHead | undefined) ?? { seq: 0, hash: GENESIS_HASH };
    const { record, json } = chainRecord(fields, prev);
    insert!.run(record.seq, record.hash, json);
    return record;
  });
  let closed = false;

  function assertUsable(): void {
    if (closed || !db.open) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit store is closed.', { detail: { reason: 'closed' } });
  }

  async function* readPages(fromSeq: number): AsyncGenerator<StoredRow> {
    let next = fromSeq;
    for (;;) {
      assertUsable();
      const rows = page.all(next, PAGE_SIZE) as StoredRow[];
      for (const row of rows) yield row;
      if (rows.length < PAGE_SIZE) return;
      next = rows[rows.length - 1]!.seq + 1;
    }
  }

  return {
    async append(entry: AuditEntry): Promise<AuditRecord> {
      try {
        assertUsable();
        if (!insert) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit store is open read-only.', { detail: { reason: 'readonly' } });
        return appendTx.immediate(prepareEntry(entry, clock));
      } catch (err) {
        throw toUnavailable(err);
      }
    },
    ...createReaders(readPages),
    async head(): Promise<ChainHead> {
      assertUsable();
      return (lastRow.get() as ChainHead | undefined) ?? { seq: 0, hash: GENESIS_HASH };
    },
    settings(): SqliteSettings {
      assertUsable();
      return {
        journalMode: db.pragma('journal_mode', { simple: true }) as string,
        synchronous: db.pragma('synchronous', { simple: true }) as number,
        busyTimeoutMs: db.pragma('busy_timeout', { simple: true }) as number,
      };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (!options.readonly && file !== ':memory:') {
        try {
          db.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          // another connection is busy; SQLite checkpoints later
        }
      }
      db.close();
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
];

function toUnavailable(err: unknown): CustosError {
  return toAppendError(err, REASON_BY_SQLITE_CODE);
}
