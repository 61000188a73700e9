import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PURGE_ACTION, SIX_YEARS_DAYS, batchRanges, createAuditStore, createCheckpointSigner, createCheckpointer, planPurge } from '../audit/index.js';
import type { AuditStoreAdmin } from '../audit/index.js';
import { createMemoryAudit, makeEntry, makeTempDir } from '../audit/index.test-support.js';
import type { MemoryAuditStore, TempDir } from '../audit/index.test-support.js';
import { CustosError, NO_BUNDLE_HASH, buildAdminRow } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { createTrailWatch } from './trail-watch.js';
import type { TrailWatch, TrailWatchFailure, TrailWatchSettings, WatchScheduler } from './trail-watch.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const SETTINGS: TrailWatchSettings = { everyMs: 1_000, fullEveryMs: 10_000, firstDelayMs: 500 };

/** A clock and a scheduler the test moves: `advance(ms)` runs each timer that falls due, and waits for its pass. */
function fakeTime() {
  let now = Date.UTC(2026, 0, 1);
  let task: { at: number; run: () => void } | undefined;
  const scheduler: WatchScheduler = {
    after(ms, run) {
      const t = { at: now + ms, run };
      task = t;
      return { cancel: () => void (task === t && (task = undefined)) };
    },
  };
  return {
    clock: { now: () => new Date(now) },
    scheduler,
    async advance(ms: number, watch: TrailWatch) {
      const end = now + ms;
      while (task && task.at <= end) {
        const t = task;
        task = undefined;
        now = t.at;
        t.run();
        await watch.idle();
      }
      now = end;
    },
  };
}

/** A watch over `store`, the failures it reports, and where each read started. */
function watchOver(store: Pick<AuditStoreAdmin, 'readRaw'>, settings = SETTINGS) {
  const time = fakeTime();
  const failures: TrailWatchFailure[] = [];
  const reads: number[] = [];
  const watch = createTrailWatch({
    store: {
      readRaw: (fromSeq) => {
        reads.push(fromSeq ?? 1);
        return store.readRaw(fromSeq);
      },
    },
    settings,
    clock: time.clock,
    logger: silent,
    scheduler: time.scheduler,
    onFailure: async (f) => void failures.push(f),
  });
  watch.start();
  return { watch, failures, reads, advance: (ms: number) => time.advance(ms, watch) };
}

async function trail(rows: number): Promise<MemoryAuditStore> {
  const store = createMemoryAudit();
  for (let n = 1; n <= rows; n += 1) await store.append(makeEntry(n));
  return store;
}

/** Changes a stored row behind the chain's back (what an owner of the table or the file can do). */
function edit(store: MemoryAuditStore, seq: number): void {
  const i = store.rows.findIndex((r) => r.seq === seq);
  store.rows[i] = { ...store.rows[i]!, user: { ...store.rows[i]!.user, sub: 'mallory' } } as AuditRecord;
}

describe('the trail watch', () => {
  it('verifies the whole trail first, then only the rows appended since the verified head', async () => {
    const store = await trail(5);
    const w = watchOver(store);
    await w.advance(499);
    expect(w.watch.status().verified).toBeUndefined(); // nothing before the first delay
    await w.advance(1);
    expect(w.watch.status()).toMatchObject({ verified: { seq: 5, hash: store.rows[4]!.hash }, passes: { full_ok: 1 } });
    for (let n = 6; n <= 8; n += 1) await store.append(makeEntry(n));
    await w.advance(1_000);
    expect(w.watch.status()).toMatchObject({ verified: { seq: 8 }, passes: { full_ok: 1, incremental_ok: 1 } });
    expect(w.reads).toEqual([1, 6]); // the incremental pass read the suffix only
    expect(w.failures).toEqual([]);
    await w.watch.close();
  });

  it('an edited row after the head: the incremental pass raises it once, with its seq, and keeps the last good head', async () => {
    const store = await trail(5);
    const w = watchOver(store);
    await w.advance(500);
    for (let n = 6; n <= 8; n += 1) await store.append(makeEntry(n));
    edit(store, 7);
    await w.advance(3_000); // three incremental passes
    expect(w.failures).toEqual([
      { scope: 'incremental', first_bad_seq: 7, reason: 'hash_mismatch', verified_seq: 5, verified_hash: store.rows[4]!.hash, rows_verified: 1 },
    ]);
    expect(w.watch.status()).toMatchObject({ verified: { seq: 5 }, passes: { incremental_failed: 3 } });
    await w.advance(10_000); // the full pass finds the same failure: not raised again
    expect(w.watch.status().passes.full_failed).toBe(1);
    expect(w.failures).toHaveLength(1);
    expect(w.watch.status().verified?.seq).toBe(5);
    await w.watch.close();
  });

  it('an edited row before the head: incremental passes cannot see it, the full pass finds it', async () => {
    const store = await trail(5);
    const w = watchOver(store);
    await w.advance(500);
    edit(store, 2);
    await store.append(makeEntry(6));
    await w.advance(9_000);
    expect(w.failures).toEqual([]);
    expect(w.watch.status().verified?.seq).toBe(6);
    await w.advance(1_000);
    expect(w.failures).toEqual([expect.objectContaining({ scope: 'full', first_bad_seq: 2, reason: 'hash_mismatch', verified_seq: 6 })]);
    expect(w.watch.status().verified?.seq).toBe(6);
    await w.watch.close();
  });

  it('a cut-off tail is found by the full pass against the head verified before (truncated), and a chain rebuilt past it too', async () => {
    const store = await trail(8);
    const w = watchOver(store);
    await w.advance(500);
    store.rows.length = 6; // rows 7 and 8 deleted
    await w.advance(10_000);
    expect(w.failures).toEqual([expect.objectContaining({ scope: 'full', first_bad_seq: 7, reason: 'truncated', verified_seq: 8 })]);

    // Rebuilt: new rows 7 to 9 chained on row 6. The incremental pass sees row 9 not following the head; the full pass sees row 8 changed.
    for (let n = 7; n <= 9; n += 1) await store.append(makeEntry(n, { request_id: `forged-${n}` }));
    await w.advance(1_000);
    expect(w.failures[1]).toMatchObject({ scope: 'incremental', first_bad_seq: 9, reason: 'prev_hash_mismatch', verified_seq: 8 });
    await w.advance(9_000);
    expect(w.failures[2]).toMatchObject({ scope: 'full', first_bad_seq: 8, reason: 'hash_mismatch', verified_seq: 8 });
    expect(w.failures).toHaveLength(3);
    await w.watch.close();
  });

  it('a store that cannot be read raises nothing: the pass is tried again, and verifies once the store is back', async () => {
    const store = await trail(3);
    let down = true;
    const w = watchOver({
      async *readRaw(fromSeq) {
        if (down) throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { detail: { reason: 'busy' } });
        yield* store.readRaw(fromSeq);
      },
    });
    await w.advance(2_500);
    expect(w.failures).toEqual([]);
    expect(w.watch.status()).toMatchObject({ passes: { full_unavailable: 3, full_ok: 0 } });
    expect(w.watch.status().verified).toBeUndefined();
    down = false;
    await w.advance(1_000);
    expect(w.watch.status()).toMatchObject({ verified: { seq: 3 }, passes: { full_ok: 1 } });
    expect(w.failures).toEqual([]);
    await w.watch.close();
  });

  it('an alert that could not be written is tried again at the next pass', async () => {
    const store = await trail(3);
    const time = fakeTime();
    const written: number[] = [];
    let fails = 1;
    const watch = createTrailWatch({
      store,
      settings: SETTINGS,
      clock: time.clock,
      logger: silent,
      scheduler: time.scheduler,
      onFailure: async (f) => {
        if (fails-- > 0) throw new CustosError('ERR_AUDIT_UNAVAILABLE');
        written.push(f.first_bad_seq);
      },
    });
    watch.start();
    edit(store, 2);
    await time.advance(2_500, watch);
    expect(written).toEqual([2]);
    await watch.close();
  });

  it('turns the event loop while it reads a long trail', async () => {
    const store = await trail(1_200);
    const w = watchOver(store);
    const order: string[] = [];
    setImmediate(() => order.push('other work'));
    await w.watch.pass().then(() => order.push('pass done'));
    expect(order).toEqual(['other work', 'pass done']);
    expect(w.watch.status().verified?.seq).toBe(1_200);
    await w.watch.close();
  });

  it('is off with both intervals 0; with fullEveryMs 0 the whole trail is verified once, then the suffixes only', async () => {
    const store = await trail(3);
    const off = watchOver(store, { everyMs: 0, fullEveryMs: 0 });
    await off.advance(100_000);
    expect(off.reads).toEqual([]);
    const once = watchOver(store, { everyMs: 1_000, fullEveryMs: 0 });
    await once.advance(100_000);
    expect(once.reads.filter((from) => from === 1)).toHaveLength(1);
    expect(once.watch.status().passes).toMatchObject({ full_ok: 1, incremental_ok: 99 });
    await off.watch.close();
    await once.watch.close();
  });
});

describe('the trail watch on an SQLite trail with a retention purge and checkpoints', () => {
  let dir: TempDir;
  let store: AuditStoreAdmin | undefined;
  afterEach(async () => {
    await store?.close();
    dir.remove();
  });

  it('verifies tombstones and checkpoint rows clean, in the incremental and the full pass', async () => {
    dir = makeTempDir();
    store = await createAuditStore(`sqlite:${join(dir.path, 'audit.sqlite')}`);
    for (let n = 1; n <= 10; n += 1) await store.append(makeEntry(n, { time: '2025-01-01T00:00:00.000Z' }));
    const w = watchOver(store);
    await w.advance(500);
    expect(w.watch.status().verified?.seq).toBe(10);

    const { privateKey } = generateKeyPairSync('ed25519');
    const signer = createCheckpointSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const now = new Date('2033-06-01T00:00:00Z');
    const checkpointer = createCheckpointer(store, {
      signer,
      everyRows: 1e9,
      everyMs: 2 ** 31 - 1,
      clock: { now: () => now },
      ids: { newId: () => randomBytes(8).toString('hex') },
    });
    expect((await checkpointer.checkpoint())?.event).toBe('checkpoint');
    const plan = await planPurge(store.read(), { minimumDays: SIX_YEARS_DAYS, defaultDays: SIX_YEARS_DAYS, classes: {} }, now);
    expect(plan.rows).toBe(10);
    for (const ranges of batchRanges(plan.ranges, 4)) {
      const entry = buildAdminRow(
        { time: now.toISOString(), requestId: randomBytes(8).toString('hex'), bundleHash: NO_BUNDLE_HASH },
        { user: { sub: 'ops', iss: 'custos:cli' } },
        { action: PURGE_ACTION, decision: 'allow', detail: { purged: ranges } },
      );
      await store.purge!(entry);
    }
    await store.append(makeEntry(11));
    expect(await checkpointer.checkpoint()).toBeDefined();
    await checkpointer.close();

    await w.advance(1_000);
    expect(w.watch.status()).toMatchObject({ passes: { incremental_ok: 1 } });
    await w.advance(9_000);
    const head = w.watch.status();
    expect(head.passes).toMatchObject({ full_ok: 2, full_failed: 0, incremental_failed: 0 });
    expect(head.verified?.seq).toBe((await store.head()).seq);
    expect(w.failures).toEqual([]);
    await w.watch.close();
  });
});
