/**
 * The search index of an SQLite trail, in its own file beside the trail's (`PATH.search`), so
 * indexing never takes the trail's write lock (an append waits at most `busyTimeoutMs` for it).
 * The file is derived data: deleting it costs only a re-index from the trail. One machine's
 * file: every process may index (`lead` is always true); adding a row twice is harmless. The
 * indexer runs on the main thread, so a write that meets another process's lock (another
 * indexer) is tried again on timers up to `busyTimeoutMs` (`busy_timeout` 0 after the schema),
 * never a wait inside SQLite that would freeze the event loop.
 */
import Database from 'better-sqlite3';
import { isStoreBusy, retryWhileBusy } from '../kernel/index.js';
import { candidateSql } from './search-index.js';
import type { CandidateFilter, IndexedRow, IndexState, SearchIndexBackend } from './search-index.js';

/** `custos_audit_search_mark` is an older Custos' mark (unkeyed terms); `custos_audit_search_state` this one's. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS custos_audit_search_terms (term BLOB NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (term, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS custos_audit_search_times (seq INTEGER PRIMARY KEY, ms INTEGER);
CREATE TABLE IF NOT EXISTS custos_audit_search_mark (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT OR IGNORE INTO custos_audit_search_mark (id, seq) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS custos_audit_search_state (id INTEGER PRIMARY KEY CHECK (id = 1), key_tag TEXT NOT NULL, seq INTEGER NOT NULL, legacy_seq INTEGER NOT NULL);
`;

/** Rows per multi-row INSERT (2 parameters each, well under SQLite's 32 766). */
const PER_STATEMENT = 256;

/** Where the index of the trail at `trailPath` lives. */
export const sqliteSearchIndexPath = (trailPath: string): string => `${trailPath}.search`;

export function createSqliteSearchIndex(file: string, options: { busyTimeoutMs?: number } = {}): SearchIndexBackend {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL'); // derived data: a lost tail is re-indexed from the trail
  const waitMs = options.busyTimeoutMs ?? 5000;
  db.pragma(`busy_timeout = ${waitMs}`); // at open only: the schema waits as SQLite waits
  db.pragma('secure_delete = ON'); // terms dropped by a reset (another key, an older Custos' unkeyed terms) leave no bytes behind
  db.exec(SCHEMA);
  db.pragma('busy_timeout = 0');
  const insertTerm = db.prepare('INSERT OR IGNORE INTO custos_audit_search_terms (term, seq) VALUES (?, ?)');
  const insertTime = db.prepare('INSERT OR IGNORE INTO custos_audit_search_times (seq, ms) VALUES (?, ?)');
  const moveMark = db.prepare('UPDATE custos_audit_search_state SET seq = max(seq, ?) WHERE id = 1');
  const readState = db.prepare<[], { key_tag: string; seq: number; legacy_seq: number }>(
    'SELECT key_tag, seq, legacy_seq FROM custos_audit_search_state WHERE id = 1',
  );
  const readLegacy = db.prepare<[], { seq: number }>('SELECT seq FROM custos_audit_search_mark WHERE id = 1');
  const dropTerms = db.prepare('DELETE FROM custos_audit_search_terms WHERE seq > ?');
  const dropTimes = db.prepare('DELETE FROM custos_audit_search_times WHERE seq > ?');
  const setState = db.prepare('INSERT OR REPLACE INTO custos_audit_search_state (id, key_tag, seq, legacy_seq) VALUES (1, ?, ?, ?)');
  const insertTerms = db.prepare(`INSERT OR IGNORE INTO custos_audit_search_terms (term, seq) VALUES ${'(?, ?), '.repeat(PER_STATEMENT - 1)}(?, ?)`);
  const insertTimes = db.prepare(`INSERT OR IGNORE INTO custos_audit_search_times (seq, ms) VALUES ${'(?, ?), '.repeat(PER_STATEMENT - 1)}(?, ?)`);
  /** Pairs as multi-row inserts of PER_STATEMENT (the rest one by one): one call into SQLite per statement, not per pair. */
  const insertAll = (pairs: readonly unknown[], many: Database.Statement, one: Database.Statement) => {
    const whole = pairs.length - (pairs.length % (2 * PER_STATEMENT));
    for (let i = 0; i < whole; i += 2 * PER_STATEMENT) many.run(pairs.slice(i, i + 2 * PER_STATEMENT));
    for (let i = whole; i < pairs.length; i += 2) one.run(pairs[i], pairs[i + 1]);
  };
  const add = db.transaction((rows: readonly IndexedRow[], upTo: number) => {
    const pairs: unknown[] = [];
    for (const r of rows) for (const t of r.terms) pairs.push(t, r.seq);
    insertAll(pairs, insertTerms, insertTerm);
    insertAll(
      rows.flatMap((r) => [r.seq, r.ms]),
      insertTimes,
      insertTime,
    );
    moveMark.run(upTo);
  });
  const reset = db.transaction((state: IndexState) => {
    dropTerms.run(state.seq);
    dropTimes.run(state.seq);
    setState.run(state.keyTag, state.seq, state.legacySeq);
  });
  const truncateWal = (): void => {
    const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    if (result?.busy) throw Object.assign(new Error('The WAL is in use.'), { code: 'SQLITE_BUSY' });
  };
  const tables = { terms: 'custos_audit_search_terms', times: 'custos_audit_search_times' };
  const queries = new Map<string, Database.Statement>();
  return {
    state: async () => {
      const row = readState.get();
      return { ...(row ? { state: { keyTag: row.key_tag, seq: row.seq, legacySeq: row.legacy_seq } } : {}), legacyMark: readLegacy.get()?.seq ?? 0 };
    },
    lead: async () => true,
    reset: async (state) => {
      await retryWhileBusy(() => reset.immediate(state), waitMs);
      // And no copy of their pages in the WAL: tried as long as a reader holds it up, as SQLite's busy handler would.
      await Promise.resolve(retryWhileBusy(truncateWal, waitMs)).catch((err: unknown) => {
        if (!isStoreBusy(err)) throw err;
      });
    },
    add: async (rows, upTo) => retryWhileBusy(() => add.immediate(rows, upTo), waitMs),
    async candidates(filter: CandidateFilter, afterSeq, upTo, limit) {
      const { sql, params } = candidateSql(filter, { afterSeq, upTo, limit }, tables, () => '?');
      let stmt = queries.get(sql);
      if (!stmt) queries.set(sql, (stmt = db.prepare(sql).pluck()));
      return stmt.all(...params) as number[];
    },
    close: async () => {
      db.close();
    },
  };
}
