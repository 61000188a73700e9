/**
 * The search index of a PostgreSQL trail: tables beside the trail's (migration 4 of
 * src/app/migrations.ts, additive). Every replica may run an indexer: rows are inserted with
 * ON CONFLICT DO NOTHING and the mark only moves forward, so two indexers agree.
 */
import pg from 'pg';
import { candidateSql } from './search-index.js';
import type { SearchIndexBackend } from './search-index.js';

export const SEARCH_INDEX_POSTGRES_SCHEMA = `
CREATE TABLE IF NOT EXISTS custos_audit_search_terms (term BYTEA NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (term, seq));
CREATE TABLE IF NOT EXISTS custos_audit_search_times (seq BIGINT PRIMARY KEY, ms BIGINT);
CREATE TABLE IF NOT EXISTS custos_audit_search_mark (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL);
INSERT INTO custos_audit_search_mark (id, seq) VALUES (1, 0) ON CONFLICT DO NOTHING;
`;

export function createPostgresSearchIndex(uri: string): SearchIndexBackend {
  const pool = new pg.Pool({ connectionString: uri, max: 2 });
  pool.on('error', () => undefined);
  const tables = { terms: 'custos_audit_search_terms', times: 'custos_audit_search_times' };
  return {
    async indexedSeq() {
      const { rows } = await pool.query<{ seq: string }>('SELECT seq FROM custos_audit_search_mark WHERE id = 1');
      return Number(rows[0]?.seq ?? 0);
    },
    async add(rows, upTo) {
      const seqs = rows.flatMap((r) => r.terms.map(() => r.seq));
      const terms = rows.flatMap((r) => r.terms);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO custos_audit_search_times (seq, ms) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING', [
          rows.map((r) => r.seq),
          rows.map((r) => r.ms),
        ]);
        await client.query('INSERT INTO custos_audit_search_terms (term, seq) SELECT * FROM unnest($1::bytea[], $2::bigint[]) ON CONFLICT DO NOTHING', [
          terms,
          seqs,
        ]);
        await client.query('UPDATE custos_audit_search_mark SET seq = GREATEST(seq, $1) WHERE id = 1', [upTo]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async candidates(filter, afterSeq, upTo, limit) {
      const { sql, params } = candidateSql(filter, { afterSeq, upTo, limit }, tables, (i) => `$${i}`);
      const { rows } = await pool.query<{ seq: string }>(sql, params);
      return rows.map((r) => Number(r.seq));
    },
    close: () => pool.end(),
  };
}
