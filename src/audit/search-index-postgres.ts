/**
 * The search index of a PostgreSQL trail: tables beside the trail's (migrations 4 and 5 of
 * src/app/migrations.ts, additive). One indexer per deployment: the replica holding the session
 * advisory lock `INDEXER_LOCK` on its own connection indexes, and writes only through that
 * connection (so a replica that lost it cannot write on); the others search. When the holder dies
 * its connection closes, PostgreSQL releases the lock, and the next replica to try takes over.
 */
import pg from 'pg';
import { candidateSql } from './search-index.js';
import type { IndexState, SearchIndexBackend } from './search-index.js';

/** Migration 4: the terms, times, and the mark an older Custos moves (unkeyed terms). */
export const SEARCH_INDEX_POSTGRES_SCHEMA = `
CREATE TABLE IF NOT EXISTS custos_audit_search_terms (term BYTEA NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (term, seq));
CREATE TABLE IF NOT EXISTS custos_audit_search_times (seq BIGINT PRIMARY KEY, ms BIGINT);
CREATE TABLE IF NOT EXISTS custos_audit_search_mark (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL);
INSERT INTO custos_audit_search_mark (id, seq) VALUES (1, 0) ON CONFLICT DO NOTHING;
`;

/** Migration 5: the key the terms were made with and how far they reach. */
export const SEARCH_INDEX_POSTGRES_STATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS custos_audit_search_state (id INTEGER PRIMARY KEY CHECK (id = 1), key_tag TEXT NOT NULL, seq BIGINT NOT NULL, legacy_seq BIGINT NOT NULL);
`;

/** pg_advisory_lock key of the one indexer ("srchidx" in ASCII). */
const INDEXER_LOCK = '32495393600791672';

export function createPostgresSearchIndex(uri: string): SearchIndexBackend {
  const pool = new pg.Pool({ connectionString: uri, max: 2 });
  pool.on('error', () => undefined);
  const tables = { terms: 'custos_audit_search_terms', times: 'custos_audit_search_times' };
  /** This replica's connection for the indexer lock (kept open: a replica that does not hold it asks again each round on it), and whether it holds it. */
  let lockClient: pg.Client | undefined;
  let holding = false;
  let closed = false;

  async function connectForLock(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: uri });
    const drop = () => {
      if (lockClient !== client) return;
      lockClient = undefined;
      holding = false;
    };
    client.on('error', drop);
    client.on('end', drop);
    await client.connect();
    return client;
  }

  /** One transaction on the lock's connection; fails when this replica no longer holds it. */
  async function write(statements: ReadonlyArray<[string, unknown[]]>): Promise<void> {
    const client = holding ? lockClient : undefined;
    if (!client) throw new Error('the search index lock is not held by this replica');
    try {
      await client.query('BEGIN');
      for (const [sql, params] of statements) await client.query(sql, params);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  return {
    async state() {
      const { rows } = await pool.query<{ key_tag: string | null; seq: string | null; legacy_seq: string | null; legacy: string }>(
        `SELECT s.key_tag, s.seq, s.legacy_seq, COALESCE((SELECT seq FROM custos_audit_search_mark WHERE id = 1), 0) AS legacy
         FROM (SELECT 1) one LEFT JOIN custos_audit_search_state s ON s.id = 1`,
      );
      const r = rows[0]!;
      const state: IndexState | undefined = r.key_tag === null ? undefined : { keyTag: r.key_tag, seq: Number(r.seq), legacySeq: Number(r.legacy_seq) };
      return { ...(state ? { state } : {}), legacyMark: Number(r.legacy) };
    },
    async lead() {
      if (closed) return false;
      lockClient ??= await connectForLock();
      if (!holding) holding = (await lockClient.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1) AS held', [INDEXER_LOCK])).rows[0]?.held === true;
      return holding;
    },
    reset: (state) =>
      write([
        ['DELETE FROM custos_audit_search_terms WHERE seq > $1', [state.seq]],
        ['DELETE FROM custos_audit_search_times WHERE seq > $1', [state.seq]],
        [
          `INSERT INTO custos_audit_search_state (id, key_tag, seq, legacy_seq) VALUES (1, $1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET key_tag = EXCLUDED.key_tag, seq = EXCLUDED.seq, legacy_seq = EXCLUDED.legacy_seq`,
          [state.keyTag, state.seq, state.legacySeq],
        ],
      ]),
    add: (rows, upTo) =>
      write([
        [
          'INSERT INTO custos_audit_search_times (seq, ms) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING',
          [rows.map((r) => r.seq), rows.map((r) => r.ms)],
        ],
        [
          'INSERT INTO custos_audit_search_terms (term, seq) SELECT * FROM unnest($1::bytea[], $2::bigint[]) ON CONFLICT DO NOTHING',
          [rows.flatMap((r) => r.terms), rows.flatMap((r) => r.terms.map(() => r.seq))],
        ],
        ['UPDATE custos_audit_search_state SET seq = GREATEST(seq, $1) WHERE id = 1', [upTo]],
      ]),
    async candidates(filter, afterSeq, upTo, limit) {
      const { sql, params } = candidateSql(filter, { afterSeq, upTo, limit }, tables, (i) => `$${i}`);
      const { rows } = await pool.query<{ seq: string }>(sql, params);
      return rows.map((r) => Number(r.seq));
    },
    async close() {
      closed = true;
      const client = lockClient;
      lockClient = undefined;
      holding = false;
      await client?.end().catch(() => undefined); // the lock goes with the session
      await pool.end();
    },
  };
}
