/**
 * Where the monitor's snapshot is kept. SQLite: a file beside the trail's (`PATH.monitor`), so
 * writing it never takes the trail's write lock. PostgreSQL: a table beside the trail's
 * (migration 6 of src/app/migrations.ts, additive). One row, the latest snapshot; a replica's
 * save replaces it only with one of a later seq, so replicas saving together keep the newest.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { retryWhileBusy } from '../kernel/index.js';
import type { MonitorSnapshotStore } from './snapshot.js';

export const MONITOR_SNAPSHOT_POSTGRES_SCHEMA = `
CREATE TABLE IF NOT EXISTS custos_monitor_snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, body TEXT NOT NULL, written_ms BIGINT NOT NULL);
`;

const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS custos_monitor_snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, body TEXT NOT NULL, written_ms INTEGER NOT NULL);
`;

const UPSERT = (p: (i: number) => string): string =>
  `INSERT INTO custos_monitor_snapshot (id, seq, body, written_ms) VALUES (1, ${p(1)}, ${p(2)}, ${p(3)})
   ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, body = excluded.body, written_ms = excluded.written_ms WHERE custos_monitor_snapshot.seq < excluded.seq`;

/** Where the snapshot of the SQLite trail at `trailPath` lives. */
export const sqliteSnapshotPath = (trailPath: string): string => `${trailPath}.monitor`;

export function createSqliteSnapshotStore(file: string): MonitorSnapshotStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 1000'); // at open only; only this process's monitor writes it
  db.exec(SQLITE_SCHEMA);
  db.pragma('busy_timeout = 0'); // then a save that meets another connection's lock (a backup) waits on timers, up to 1 s
  const read = db.prepare<[], { body: string }>('SELECT body FROM custos_monitor_snapshot WHERE id = 1');
  const upsert = db.prepare(UPSERT(() => '?'));
  return {
    load: async () => read.get()?.body,
    save: async (seq, text) => retryWhileBusy(() => void upsert.run(seq, text, Date.now()), 1000),
    close: async () => {
      db.close();
    },
  };
}

export function createPostgresSnapshotStore(uri: string): MonitorSnapshotStore {
  const pool = new pg.Pool({ connectionString: uri, max: 1 });
  pool.on('error', () => undefined);
  const upsert = UPSERT((i) => `$${i}`);
  return {
    async load() {
      const { rows } = await pool.query<{ body: string }>('SELECT body FROM custos_monitor_snapshot WHERE id = 1');
      return rows[0]?.body;
    },
    async save(seq, text) {
      await pool.query(upsert, [seq, text, Date.now()]);
    },
    close: () => pool.end(),
  };
}
