/**
 * The writer thread: chain text equal to chainRecord, group commit in arrival order, lock
 * waits bounded per append and off the event loop (issue 7, defect 3), a full disk.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustosError, GENESIS_HASH } from '../kernel/index.js';
import { canonicalSegments, chainRecord, renderChainedRecord } from './chain-hash.js';
import { verifyChain } from './index.js';
import { createSqliteAuditStore } from './sqlite-store.js';
import type { SqliteAuditStore } from './sqlite-store.js';
import { collect, holdExclusiveLock, makeEntry, makeTempDir } from './index.test-support.js';
import type { TempDir } from './index.test-support.js';

async function settle(promise: Promise<unknown>): Promise<{ ms: number; error?: CustosError }> {
  const started = performance.now();
  try {
    await promise;
    return { ms: performance.now() - started };
  } catch (err) {
    return { ms: performance.now() - started, error: err as CustosError };
  }
}

describe('renderChainedRecord', () => {
  it('produces the text and hash chainRecord produces, whatever the keys', () => {
    let deep: unknown = { leaf: [1, 2.5, -0, 1e21] };
    for (let i = 0; i < 40; i += 1) deep = { [`k${i}`]: deep, [`a${i}`]: [undefined, null, true] }; // past the fast path's depth
    const odd = {
      é: 1,
      Z: [1, { b: 2, a: null, u: undefined }],
      a_: 'x',
      prev: true,
      seq0: 0,
      '\u{1F600}': 'emoji \u{1F600} \ud800 "q" \n',
      '': 'empty',
      hash_: 'h',
      when: new Date(Date.UTC(2025, 0, 2)),
      deep,
    };
    for (const fields of [
      makeEntry(1),
      makeEntry(2, { detail: odd }),
      { ...makeEntry(3), extra: undefined, seq: 99, prev_hash: 'x', hash: 'y' },
      { ...makeEntry(4), hasi: 1, hasi_: [], prev_hasg: 'p', prev_hash_: 2, seq0: 's', seq: 1 },
    ]) {
      for (const prev of [
        { seq: 0, hash: GENESIS_HASH },
        { seq: 41, hash: 'f'.repeat(64) },
      ]) {
        const expected = chainRecord(fields, prev);
        const segments = canonicalSegments(fields);
        expect(renderChainedRecord(segments, prev.seq + 1, prev.hash, expected.record.hash)).toBe(expected.json);
      }
    }
  });

  it('property: the text chainRecord produces, for any members in any order (sorted or not)', () => {
    const member = fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.constant(undefined), fc.dictionary(fc.string({ unit: 'binary' }), fc.integer()));
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), member), fc.boolean(), (extra, presort) => {
        const merged: Record<string, unknown> = { ...makeEntry(1), ...extra };
        const fields = presort ? Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : merged;
        const prev = { seq: 7, hash: 'e'.repeat(64) };
        const expected = chainRecord(fields as typeof merged & ReturnType<typeof makeEntry>, prev);
        expect(renderChainedRecord(canonicalSegments(fields), 8, prev.hash, expected.record.hash)).toBe(expected.json);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what canonicalize refuses: a cycle, a non-finite number, a function in an array', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const detail of [cyclic, { n: Number.NaN }, [() => 1]]) expect(() => canonicalSegments({ ...makeEntry(1), detail })).toThrow(TypeError);
  });
});

describe('sqlite writer thread', () => {
  let dir: TempDir;
  let store: SqliteAuditStore | undefined;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    dir.remove();
  });

  it('commits concurrent appends together, in arrival order, each resolved with its own durable row', async () => {
    store = await createSqliteAuditStore(`sqlite:${join(dir.path, 'audit.sqlite')}`, {});
    const records = await Promise.all(Array.from({ length: 100 }, (_, i) => store!.append(makeEntry(i + 1, { request_id: `r-${i}` }))));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(records.map((r) => r.request_id)).toEqual(Array.from({ length: 100 }, (_, i) => `r-${i}`));
    const { commits, rows } = await store.stats();
    expect(rows).toBe(100);
    expect(commits).toBeLessThan(50); // group commit: many rows per transaction (one fsync each)
    expect(await collect(store.read())).toEqual(records);
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 100 });
  });

  it('denies every append within its busy timeout while another process holds BEGIN EXCLUSIVE, without blocking the event loop', async () => {
    const file = join(dir.path, 'audit.sqlite');
    const busyTimeoutMs = 400;
    store = await createSqliteAuditStore(`sqlite:${file}`, { busyTimeoutMs });
    await store.append(makeEntry(1));
    const lock = await holdExclusiveLock(file);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    try {
      loop.enable();
      const first = Array.from({ length: 10 }, (_, i) => settle(store!.append(makeEntry(i + 2))));
      await new Promise((r) => setTimeout(r, 150)); // more arrive while the first batch waits
      const later = Array.from({ length: 10 }, (_, i) => settle(store!.append(makeEntry(i + 12))));
      const outcomes = await Promise.all([...first, ...later]);
      loop.disable();
      for (const o of outcomes) {
        expect(o.error).toBeInstanceOf(CustosError);
        expect(o.error).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE', detail: { reason: 'busy' } });
        expect(o.ms).toBeLessThan(busyTimeoutMs + 1500); // generous for a loaded CI machine; the old store took 20 × 400 ms
      }
      for (const o of outcomes.slice(0, 10)) expect(o.ms).toBeGreaterThanOrEqual(busyTimeoutMs - 20); // they waited their turn
      // the old store blocked the loop for the whole busy timeout, once per append
      expect(loop.max / 1e6).toBeLessThan(busyTimeoutMs * 0.75);
      expect(await store.head()).toMatchObject({ seq: 1 }); // reads still answer
    } finally {
      loop.disable();
      await lock.release();
    }
    expect((await store.append(makeEntry(2))).seq).toBe(2);
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 2 });
  });

  it('once the lock has defeated an append, fails further appends after a short wait until one gets through', async () => {
    const file = join(dir.path, 'audit.sqlite');
    const busyTimeoutMs = 1500;
    store = await createSqliteAuditStore(`sqlite:${file}`, { busyTimeoutMs });
    let lock = await holdExclusiveLock(file);
    try {
      const first = await settle(store.append(makeEntry(1)));
      expect(first.error).toMatchObject({ detail: { reason: 'busy' } });
      expect(first.ms).toBeGreaterThanOrEqual(busyTimeoutMs - 20);
      const next = await settle(store.append(makeEntry(2))); // e.g. the deny row of the same call
      expect(next.error).toMatchObject({ detail: { reason: 'busy' } });
      expect(next.ms).toBeLessThan(busyTimeoutMs / 2);
    } finally {
      await lock.release();
    }
    expect((await store.append(makeEntry(1))).seq).toBe(1); // one try gets through: the outage is over
    lock = await holdExclusiveLock(file);
    try {
      const fresh = await settle(store.append(makeEntry(2)));
      expect(fresh.ms).toBeGreaterThanOrEqual(busyTimeoutMs - 20); // a new lock gets the full wait again
    } finally {
      await lock.release();
    }
  });

  it('bounds only the wait for a held lock: appends whose deadline passed while queued behind their neighbours are written', async () => {
    // busyTimeoutMs 0: every deadline has passed by the time the thread reads the append, as one
    // does under load behind a slow fsync. No other connection holds the lock, so none may fail.
    const file = join(dir.path, 'audit.sqlite');
    store = await createSqliteAuditStore(`sqlite:${file}`, { busyTimeoutMs: 0 });
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => settle(store!.append(makeEntry(i + 1)))));
    expect(outcomes.filter((o) => o.error)).toEqual([]);
    expect((await store.head()).seq).toBe(200);
    const lock = await holdExclusiveLock(file);
    try {
      const held = await settle(store.append(makeEntry(201))); // a held lock still fails it at once
      expect(held.error).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE', detail: { reason: 'busy' } });
    } finally {
      await lock.release();
    }
    expect((await store.append(makeEntry(201))).seq).toBe(201);
  });

  it('writes an append that was waiting as soon as the lock is released within its timeout', async () => {
    const file = join(dir.path, 'audit.sqlite');
    store = await createSqliteAuditStore(`sqlite:${file}`, { busyTimeoutMs: 5000 });
    const lock = await holdExclusiveLock(file);
    const pending = settle(store.append(makeEntry(1)));
    await new Promise((r) => setTimeout(r, 200));
    await lock.release();
    const outcome = await pending;
    expect(outcome.error).toBeUndefined();
    expect(outcome.ms).toBeLessThan(4000);
    expect((await store.head()).seq).toBe(1);
  });

  it('fails an append with disk_full when the file cannot grow, without failing its neighbours, and keeps serving', async () => {
    store = await createSqliteAuditStore(`sqlite:${join(dir.path, 'audit.sqlite')}`, { maxPageCount: 64 });
    const big = makeEntry(2, { detail: { blob: 'x'.repeat(512 * 1024) } });
    const [a, b, c] = await Promise.all([settle(store.append(makeEntry(1))), settle(store.append(big)), settle(store.append(makeEntry(3)))]);
    expect(a.error).toBeUndefined();
    expect(c.error).toBeUndefined();
    expect(b.error).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE', detail: { reason: 'disk_full' } });
    expect(String(b.error?.message)).not.toContain('xxxx');
    expect((b.error?.cause as { code?: string }).code).toMatch(/^SQLITE_FULL/);
    expect((await store.append(makeEntry(4))).seq).toBe(3);
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 3 });
  });

  it('refuses to open what is not an audit store, and fails pending work when closed', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir.path, 'junk.sqlite'), 'not a database at all, just text '.repeat(100));
    await expect(createSqliteAuditStore(`sqlite:${join(dir.path, 'junk.sqlite')}`, {})).rejects.toMatchObject({ code: 'ERR_AUDIT_STORE_INVALID' });
    const s = await createSqliteAuditStore('sqlite::memory:', {});
    const written = s.append(makeEntry(1));
    await s.close();
    expect((await written).seq).toBe(1); // appended before close: written
    await expect(s.append(makeEntry(2))).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE', detail: { reason: 'closed' } });
  });

  it('answers a batch of written appends once committed, then syncs the WAL; a batch with a durable append is one synchronous commit', async () => {
    store = await createSqliteAuditStore(`sqlite:${join(dir.path, 'audit.sqlite')}`, {});
    const written = await store.append(makeEntry(2), { durability: 'written' });
    expect(written.seq).toBe(1);
    expect(await store.stats()).toEqual({ commits: 1, rows: 1, syncs: 1 }); // served after the sync that followed the answer
    expect((await store.settings()).synchronous).toBe(2); // FULL again for every other commit
    const mixed = await Promise.all([store.append(makeEntry(3)), store.append(makeEntry(4), { durability: 'written' })]);
    expect(mixed.map((r) => r.seq)).toEqual([2, 3]);
    // The two appends share a batch unless the writer picked up the first one alone (a loaded machine):
    // either way the commit holding the durable append is synchronous itself, so it is the one commit no sync follows.
    const { commits, rows, syncs } = await store.stats();
    expect(rows).toBe(3);
    expect([2, 3]).toContain(commits);
    expect(commits - syncs).toBe(1);
    expect(await verifyChain(store.readRaw())).toMatchObject({ ok: true, count: 3 });
  });

  it('refuses every append once a sync of written rows failed (it cannot know what reached the disk)', async () => {
    const { MessageChannel } = await import('node:worker_threads');
    const Database = (await import('better-sqlite3')).default;
    const crypto = await import('node:crypto');
    const fs = await import('node:fs');
    const { sealRecordText } = await import('./seal-format.js');
    const { renderTombstone } = await import('./retention-format.js');
    const { runSqliteWorker } = await import('./sqlite-worker.js');
    const eio = (): never => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    };
    const failingFs = { ...fs, fsyncSync: eio } as typeof fs;
    const { port1, port2 } = new MessageChannel();
    type Reply = { id: number; ok: boolean; value?: unknown; error?: { code?: string } };
    const replies: Reply[] = [];
    // Appends are answered in one message per batch: [[id, json], …].
    port2.on('message', (m: Reply | { batch: Array<[number, string]> }) => {
      if ('batch' in m) for (const [id, value] of m.batch) replies.push({ id, ok: true, value });
      else replies.push(m);
    });
    const config = { file: join(dir.path, 'audit.sqlite'), readonly: false, busyTimeoutMs: 250, outageWaitMs: 25 };
    runSqliteWorker(port1, config, Database, crypto, failingFs, renderChainedRecord, sealRecordText, renderTombstone);
    const segments = canonicalSegments(makeEntry(2));
    const until = async (n: number): Promise<void> => {
      while (replies.length < n) await new Promise((r) => setTimeout(r, 5));
    };
    port2.postMessage({ id: 1, op: 'append', segments, deadline: Date.now() + 10_000, written: true });
    await until(2);
    expect(replies[1]).toMatchObject({ id: 1, ok: true }); // committed and answered before the sync
    port2.postMessage({ id: 2, op: 'append', segments, deadline: Date.now() + 10_000 });
    port2.postMessage({ id: 3, op: 'append', segments, deadline: Date.now() + 10_000, written: true });
    await until(4);
    expect(replies.slice(2)).toEqual([
      { id: 2, ok: false, error: expect.objectContaining({ code: 'SQLITE_IOERR_FSYNC' }) },
      { id: 3, ok: false, error: expect.objectContaining({ code: 'SQLITE_IOERR_FSYNC' }) },
    ]);
    port2.postMessage({ id: 4, op: 'close' });
    await until(5);
    port2.close();
  });
});
