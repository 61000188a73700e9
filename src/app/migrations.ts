/**
 * Versioned migrations of the shared PostgreSQL store, applied at start (before any store is
 * opened) and by `custos migrate`. Each migration is applied once, in its own transaction, under
 * an advisory lock, so replicas starting together never race each other's DDL; table
 * `custos_schema_migrations` records what is applied. Migrations are additive only (new tables,
 * indexes, nullable columns; nothing renamed, retyped or dropped), so a replica of the previous
 * version keeps working on a store a newer one has migrated: a rolling upgrade needs no downtime,
 * and a store that is ahead of this Custos is used as it is (reported, not refused).
 *
 * SQLite stores are one machine's files: each store makes its own tables when it opens them.
 */
import pg from 'pg';
import {
  AUDIT_POSTGRES_SCHEMA,
  PENDING_AUTHORIZATIONS_SCHEMA,
  RATE_COUNTER_SCHEMA,
  SEARCH_INDEX_POSTGRES_SCHEMA,
  SEARCH_INDEX_POSTGRES_STATE_SCHEMA,
} from '../audit/index.js';
import { MONITOR_SNAPSHOT_POSTGRES_SCHEMA } from '../monitor/index.js';
import { MCP_SESSION_SCHEMA, SESSION_META_SCHEMA, SESSION_STORE_BASE_SCHEMA } from '../identity/index.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  // The tables of the stores before migrations were versioned (the trail, rate counters, sessions).
  { version: 1, name: 'baseline', statements: [AUDIT_POSTGRES_SCHEMA, RATE_COUNTER_SCHEMA, ...SESSION_STORE_BASE_SCHEMA] },
  // MCP session state shared by the replicas (any replica continues any session).
  { version: 2, name: 'mcp_sessions', statements: MCP_SESSION_SCHEMA },
  // The session store's sealing envelope (encryption at rest of the session store).
  { version: 3, name: 'session_meta', statements: SESSION_META_SCHEMA },
  // The trail's search index (terms and times → seq), filled from the trail by each replica's indexer.
  { version: 4, name: 'audit_search_index', statements: [SEARCH_INDEX_POSTGRES_SCHEMA] },
  // The key the search index's terms are made with (audit.search.indexKey) and how far they reach; the index is rebuilt when it changes.
  { version: 5, name: 'audit_search_index_key', statements: [SEARCH_INDEX_POSTGRES_STATE_SCHEMA] },
  // The monitor's start-up snapshot (its state and the trail row it covers; derived data).
  { version: 6, name: 'monitor_snapshot', statements: [MONITOR_SNAPSHOT_POSTGRES_SCHEMA] },
  // The decision API's pending authorizations, shared so that any replica takes a call's next leg.
  { version: 7, name: 'pending_authorizations', statements: PENDING_AUTHORIZATIONS_SCHEMA },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;
/** pg_advisory_lock key serialising migrations ("migrate" in ASCII). */
const MIGRATION_LOCK = '30792318992016997';

export interface MigrationReport {
  readonly store: string;
  /** Migrations applied by this run. */
  readonly applied: readonly Migration[];
  /** The store's version after the run. */
  readonly version: number;
  /** True when the store is at a version this Custos does not know (migrated by a newer one). */
  readonly ahead: boolean;
}

const isPostgres = (location: string): boolean => /^postgres(ql)?:\/\//.test(location);

/** Brings one PostgreSQL store to `upTo` (default: the latest version). */
export async function migrateStore(url: string, options: { upTo?: number } = {}): Promise<MigrationReport> {
  const upTo = options.upTo ?? LATEST_VERSION;
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS custos_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)');
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM custos_schema_migrations')).rows.map((r) => Number(r.version)));
    const applied: Migration[] = [];
    for (const m of MIGRATIONS.filter((x) => x.version <= upTo && !done.has(x.version))) {
      await client.query('BEGIN');
      try {
        for (const sql of m.statements) await client.query(sql);
        await client.query('INSERT INTO custos_schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      done.add(m.version);
      applied.push(m);
    }
    const version = Math.max(0, ...done);
    return { store: url.replace(/\/\/[^@/]*@/, '//***@'), applied, version, ahead: version > LATEST_VERSION };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** Migrates each distinct PostgreSQL store among `locations` (SQLite ones make their tables at open). */
export async function migrateStores(locations: readonly string[]): Promise<MigrationReport[]> {
  const reports: MigrationReport[] = [];
  for (const url of new Set(locations.filter(isPostgres))) reports.push(await migrateStore(url));
  return reports;
}
