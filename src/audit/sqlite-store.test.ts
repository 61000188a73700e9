import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosError, GENESIS_HASH } from '../kernel/index.js';
import type { AuditEntry } from '../kernel/index.js';
import { computeRecordHash, createAuditStore, verifyChain } from './index.js';
import type { AuditStoreAdmin } from './index.js';
import { DEFAULT_BUSY_TIMEOUT_MS, createSqliteAuditStore } from './sqlite-store.js';
import { collect, makeEntry, makeTempDir } from './index.test-support.js';
import type { TempDir } from './index.test-support.js';

async function expectUnavailable(promise: Promise<unknown>, reason?: string): Promise<CustosError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CustosError);
  expect((err as CustosError).code).toBe('ERR_AUDIT_UNAVAILABLE');
  if (reason) expect((err as CustosError).detail?.reason).toBe(reason);
  return err as CustosError;
}

describe('sqlite audit store', () => {
  let dir: TempDir;
  let store: AuditStoreAdmin | undefined;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    dir.remove();
  });

  it('appends chained records and reads them back in seq order', async () => {
    store = await createAuditStore(`sqlite:${join(dir.path, 'audit.sqlite')}`);
    expect(await store.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    const written = [];
    for (let n = 1; n <= 5; n++) written.push(await store.append(makeEntry(n)));
    expect(written.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(written[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < written.length; i++) expect(written[i]!.prev_hash).toBe(written[i - 1]!.hash);
    for (const r of written) expect(computeRecordHash(r)).toBe(r.hash);
    expect(await store.head()).toEqual({ seq: 5, hash: written[4]!.hash });
    expect(await collect(store.read())).toEqual(written);
    expect((await collect(store.read({ fromSeq: 3, limit: 2 }))).map((r) => r.seq)).toEqual([3, 4]);
    expect(await collect(store.read({ limit: 0 }))).toEqual([]);
  });

  it('creates parent directories, puts the file in WAL mode and keeps rows across reopen', async () => {
    const file = join(dir.path, 'nested', 'deeper', 'audit.sqlite');
    store = await createAuditStore(`sqlite:${file}`);
    await store.append(makeEntry(1));
    const peek = new Database(file, { readonly: true });
    expect(peek.pragma('journal_mode', { simple: true })).toBe('wal');
    peek.close();
    await store.close();
    store = await createAuditStore(`sqlite:${file}`);
    const second = await store.append(makeEntry(2));
    expect(second.seq).toBe(2);
    expect((await verifyChain(store.read())).ok).toBe(true);
  });

  it('sets journal_mode=WAL, synchronous=FULL and the busy timeout on its connection', async () => {
    const file = join(dir.path, 'a.sqlite');
    const sqlite = await createSqliteAuditStore(`sqlite:${file}`, {});
    store = sqlite;
    expect(await sqlite.settings()).toEqual({ journalMode: 'wal', synchronous: 2, busyTimeoutMs: DEFAULT_BUSY_TIMEOUT_MS });
    const tuned = await createSqliteAuditStore(`sqlite:${file}`, { busyTimeoutMs: 50 });
    expect((await tuned.settings()).busyTimeoutMs).toBe(50);
    await tuned.close();
  });

  it('resolves a relative path against the working directory', async () => {
    const rel = relative(process.cwd(), join(dir.path, 'rel', 'audit.sqlite'));
    store = await createAuditStore(`sqlite:${rel}`);
    await store.append(makeEntry(1));
    expect(existsSync(join(dir.path, 'rel', 'audit.sqlite'))).toBe(true);
  });

  it('fills time when the entry has none', async () => {
    const fixed = new Date('2030-05-06T07:08:09.000Z');
    store = await createAuditStore('sqlite::memory:', { clock: { now: () => fixed } });
    const record = await store.append({ ...makeEntry(1), time: '' });
    expect(record.time).toBe(fixed.toISOString());
    expect(computeRecordHash(record)).toBe(record.hash);
  });

  it('keeps seq contiguous under many parallel appends from two connections', async () => {
    const file = join(dir.path, 'shared.sqlite');
    store = await createAuditStore(`sqlite:${file}`);
    const other = await createAuditStore(`sqlite:${file}`);
    try {
      const writes = Array.from({ length: 200 }, (_, i) => (i % 2 ? store! : other).append(makeEntry(i + 1)));
      const records = await Promise.all(writes);
      expect(new Set(records.map((r) => r.seq)).size).toBe(200);
    } finally {
      await other.close();
    }
    const all = await collect(store.read());
    expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 200 });
  });

  it('refuses UPDATE and DELETE through triggers', async () => {
    const file = join(dir.path, 'audit.sqlite');
    store = await createAuditStore(`sqlite:${file}`);
    await store.append(makeEntry(1));
    const db = new Database(file);
    try {
      expect(() => db.prepare("UPDATE audit_records SET record = '{}' WHERE seq = 1").run()).toThrow(/append-only/);
      expect(() => db.prepare('UPDATE audit_records SET hash = ? WHERE seq = 1').run('0'.repeat(64))).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_records WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_records').run()).toThrow(/append-only/);
      expect(db.prepare('SELECT count(*) AS n FROM audit_records').get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });

  it('rejects with ERR_AUDIT_UNAVAILABLE while another connection holds an EXCLUSIVE lock, and recovers', async () => {
    const file = join(dir.path, 'audit.sqlite');
    store = await createAuditStore(`sqlite:${file}`, { busyTimeoutMs: 100 });
    await store.append(makeEntry(1));
    const locker = new Database(file);
    try {
      locker.exec('BEGIN EXCLUSIVE');
      const started = performance.now();
      const err = await expectUnavailable(store.append(makeEntry(2)), 'busy');
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(80);
      expect(waited).toBeLessThan(1500);
      expect(err.message).not.toContain('claude-desktop');
      expect((err.cause as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
      locker.exec('COMMIT');
    } finally {
      locker.close();
    }
    const next = await store.append(makeEntry(2));
    expect(next.seq).toBe(2);
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 2 });
  });

  it('rejects appends on a closed or read-only store and on entries that are not v1', async () => {
    const file = join(dir.path, 'audit.sqlite');
    const writer = await createAuditStore(`sqlite:${file}`);
    await writer.append(makeEntry(1));
    await writer.close();
    await writer.close(); // idempotent
    await expectUnavailable(writer.append(makeEntry(2)), 'closed');
    await expectUnavailable(collect(writer.read()), 'closed');

    store = await createAuditStore(`sqlite:${file}`, { readonly: true });
    await expectUnavailable(store.append(makeEntry(2)), 'readonly');
    expect((await store.head()).seq).toBe(1);

    const mem = await createAuditStore('sqlite::memory:');
    const wrongSchema = { ...makeEntry(1), schema: 'custos.audit/v0' } as unknown as AuditEntry;
    await expectUnavailable(mem.append(wrongSchema), 'invalid_entry');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expectUnavailable(mem.append(makeEntry(1, { detail: cyclic })), 'invalid_entry');
    expect((await mem.head()).seq).toBe(0);
    await mem.close();
  });

  it('appends many rows in order in memory (speed is measured by `npm run bench -- audit-store`, not here)', async () => {
    const mem = await createAuditStore('sqlite::memory:');
    store = mem;
    const entry = makeEntry(1);
    const records = await Promise.all(Array.from({ length: 2000 }, () => mem.append(entry)));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect((await mem.head()).seq).toBe(2000);
  });
});

describe('createAuditStore', () => {
  it('rejects unknown schemes naming the accepted ones, without echoing the URI', async () => {
    for (const uri of ['mysql://root:hunter2@db/audit', 'hunter2', '', '/var/lib/custos/audit.sqlite']) {
      const err = await createAuditStore(uri).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CustosError);
      expect((err as CustosError).code).toBe('ERR_AUDIT_STORE_INVALID');
      expect((err as CustosError).message).toContain('sqlite');
      expect((err as CustosError).message).not.toContain('hunter2');
    }
  });

  it('rejects an empty sqlite path, a bad busy timeout and a read-only open of a missing file', async () => {
    const dir = makeTempDir();
    try {
      await expect(createAuditStore('sqlite:')).rejects.toMatchObject({ code: 'ERR_AUDIT_STORE_INVALID' });
      await expect(createAuditStore('sqlite::memory:', { busyTimeoutMs: -1 })).rejects.toMatchObject({ code: 'ERR_AUDIT_STORE_INVALID' });
      await expect(createAuditStore(`sqlite:${join(dir.path, 'missing.sqlite')}`, { readonly: true })).rejects.toMatchObject({
        code: 'ERR_AUDIT_STORE_INVALID',
      });
      expect(existsSync(join(dir.path, 'missing.sqlite'))).toBe(false);
    } finally {
      dir.remove();
    }
  });
});
