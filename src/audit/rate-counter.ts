/**
 * Shared rate-limit counters (the kernel's RateCounter port), in the store the replicas share:
 * a SQLite file beside the trail (one machine) or the PostgreSQL database of the trail (every
 * replica). `take` is one transaction: each key is counted up only while under its limit
 * (`INSERT … ON CONFLICT DO UPDATE … WHERE count < limit RETURNING`); when any key is at its
 * limit the transaction is rolled back, so a denied call counts nowhere. Windows past their
 * end are deleted now and then.
 */
import Database from 'better-sqlite3';
import { CustosError, retryWhileBusy } from '../kernel/index.js';
import type { RateCounter, RateKey } from '../kernel/index.js';
import { createSidePool } from './postgres-store.js';

/** The counters' table (idempotent; migration 1 of src/app/migrations.ts). */
export const RATE_COUNTER_SCHEMA = `CREATE TABLE IF NOT EXISTS custos_rate_counts (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at BIGINT NOT NULL)`;
const UPSERT = `INSERT INTO custos_rate_counts (key, count, expires_at) VALUES ($1, 1, $2)
  ON CONFLICT (key) DO UPDATE SET count = custos_rate_counts.count + 1 WHERE custos_rate_counts.count < $3 RETURNING count`;
const PRUNE_EVERY = 1000;

/** `sqlite:PATH` (the counters' own file) or a `postgres://` URL. */
export async function createRateCounter(uri: string, options: { busyTimeoutMs?: number; now?: () => number } = {}): Promise<RateCounter> {
  if (uri.startsWith('sqlite:')) return createSqliteRateCounter(uri.slice('sqlite:'.length), options);
  if (/^postgres(ql)?:\/\//.test(uri)) return createPostgresRateCounter(uri, options);
  throw new CustosError('ERR_AUDIT_STORE_INVALID', 'The rate-limit counters need sqlite:PATH or a postgres:// URL.');
}

function createSqliteRateCounter(file: string, options: { busyTimeoutMs?: number; now?: () => number }): RateCounter {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const waitMs = options.busyTimeoutMs ?? 250;
  db.pragma(`busy_timeout = ${waitMs}`); // at open only: the schema waits as SQLite waits
  db.exec(RATE_COUNTER_SCHEMA);
  db.pragma('busy_timeout = 0'); // then `take` meeting another connection's lock is retried on timers, the event loop free
  const upsert = db.prepare(UPSERT.replace(/\$\d/g, '?')); // $1 $2 $3 appear once each, in order
  const prune = db.prepare('DELETE FROM custos_rate_counts WHERE expires_at < ?');
  const now = options.now ?? Date.now;
  let calls = 0;
  const take = db.transaction((keys: readonly RateKey[]): RateKey | null => {
    for (const k of keys) {
      if (upsert.get(k.key, k.expiresAt, k.limit) === undefined) throw new Limited(k);
    }
    return null;
  });
  return {
    async take(keys) {
      const pruning = ++calls % PRUNE_EVERY === 0;
      try {
        const taken = retryWhileBusy(() => {
          if (pruning) prune.run(now());
          return take.immediate(keys);
        }, waitMs);
        return taken instanceof Promise ? await taken : taken; // no extra tick when the lock was free
      } catch (err) {
        if (err instanceof Limited) return err.key;
        throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The rate-limit counters could not be updated.', { cause: err });
      }
    },
    async close() {
      db.close();
    },
  };
}

async function createPostgresRateCounter(url: string, options: { busyTimeoutMs?: number; now?: () => number }): Promise<RateCounter> {
  // A stalled server costs a bounded wait, then the call is denied (rate_limit_unavailable).
  const pool = createSidePool(url, options.busyTimeoutMs ?? 2000);
  await pool.query(RATE_COUNTER_SCHEMA);
  const now = options.now ?? Date.now;
  let calls = 0;
  return {
    async take(keys) {
      const client = await pool.connect().catch((err: unknown) => {
        throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The rate-limit counters could not be updated.', { cause: err });
      });
      let failed: Error | undefined;
      try {
        if (++calls % PRUNE_EVERY === 0) await client.query('DELETE FROM custos_rate_counts WHERE expires_at < $1', [now()]);
        await client.query('BEGIN');
        // One order for every transaction: two calls counting the same keys never wait on each other in a cycle.
        for (const k of [...keys].sort((a, b) => (a.key < b.key ? -1 : 1))) {
          const res = await client.query(UPSERT, [k.key, k.expiresAt, k.limit]);
          if (res.rowCount === 0) {
            await client.query('ROLLBACK');
            return k;
          }
        }
        await client.query('COMMIT');
        return null;
      } catch (err) {
        failed = err instanceof Error ? err : new Error(String(err));
        await client.query('ROLLBACK').catch(() => undefined);
        throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The rate-limit counters could not be updated.', { cause: err });
      } finally {
        client.release(failed); // a client whose query failed (timed out, connection lost) is dropped, not reused
      }
    },
    async close() {
      await pool.end();
    },
  };
}

class Limited extends Error {
  constructor(readonly key: RateKey) {
    super('limited');
  }
}

/** The counters' SQLite file beside a `sqlite:` trail (`audit.sqlite` → `audit.counters.sqlite`); a PostgreSQL trail's own database. */
export function deriveRateCounterLocation(auditStore: string): string {
  if (!auditStore.startsWith('sqlite:')) return auditStore;
  const file = auditStore.slice('sqlite:'.length);
  if (file === ':memory:') return auditStore;
  return `sqlite:${file.endsWith('.sqlite') ? file.slice(0, -'.sqlite'.length) : file}.counters.sqlite`;
}
