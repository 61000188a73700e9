import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCheckpointSigner, loadVerifyKeys, verifyCheckpointSignature } from './checkpoint.js';
import { createCheckpointer, withCheckpoints } from './checkpointer.js';
import { collect, createMemoryAudit, makeEntry } from './index.test-support.js';
import { hashRowLeaf, merkleRoot } from './merkle.js';
import { createAuditStore } from './registry.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = createCheckpointSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const keys = loadVerifyKeys([publicKey.export({ type: 'spki', format: 'pem' }).toString()]);
const base = { signer, clock: { now: () => new Date('2025-01-01T00:00:00Z') }, ids: { newId: () => 'cp' }, bundleHash: () => 'b'.repeat(64) };

afterEach(() => vi.useRealTimers());

describe('checkpointer', () => {
  it('writes a signed checkpoint row after every N rows appended through the store, over all rows before it', async () => {
    const inner = await createAuditStore('sqlite::memory:');
    const checkpointer = createCheckpointer(inner, { ...base, everyRows: 3, everyMs: 3_600_000 });
    const wrapped = withCheckpoints(inner, checkpointer);
    for (let n = 1; n <= 3; n += 1) await wrapped.append(makeEntry(n));
    await checkpointer.idle();
    for (let n = 4; n <= 6; n += 1) await wrapped.append(makeEntry(n));
    await checkpointer.idle();
    const rows = await collect(wrapped.read());
    await wrapped.close();
    expect(rows.map((r) => (r.event === 'checkpoint' ? `cp${r.checkpoint?.tree_size}` : r.seq))).toEqual([1, 2, 3, 'cp3', 5, 6, 7, 'cp7']);
    const cp = rows[7]!;
    expect(cp).toMatchObject({ user: { sub: 'custos:system' }, policy: { bundle_hash: 'b'.repeat(64), reasons: ['checkpoint'] } });
    expect(cp.checkpoint!.root_hash).toBe(merkleRoot(rows.slice(0, 7).map((r) => hashRowLeaf(r.hash))).toString('hex'));
    expect(verifyCheckpointSignature(cp.checkpoint, keys)).toEqual({ ok: true });
  });

  it('writes one every T when fewer rows came, and none while only checkpoints came', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const store = createMemoryAudit();
    const checkpointer = createCheckpointer(store, { ...base, everyRows: 100, everyMs: 60_000 });
    checkpointer.observe(await store.append(makeEntry(1)));
    await vi.advanceTimersByTimeAsync(59_000);
    await checkpointer.idle();
    expect(store.rows).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await checkpointer.idle();
    expect(store.rows.map((r) => r.event)).toEqual(['intent', 'checkpoint']);
    await vi.advanceTimersByTimeAsync(600_000);
    await checkpointer.idle();
    expect(await checkpointer.checkpoint()).toBeUndefined();
    expect(store.rows).toHaveLength(2);
    await checkpointer.close();
  });

  it('a checkpoint the store cannot take is reported, never fails the call, and is retried at the next trigger', async () => {
    const store = createMemoryAudit();
    const errors: unknown[] = [];
    const checkpointer = createCheckpointer(store, { ...base, everyRows: 2, everyMs: 3_600_000, onError: (err) => errors.push(err) });
    const [r1, r2] = [await store.append(makeEntry(1)), await store.append(makeEntry(2))];
    store.failing = true;
    checkpointer.observe(r1);
    checkpointer.observe(r2);
    await checkpointer.idle();
    expect(errors).toHaveLength(1);
    expect(store.rows).toHaveLength(2);
    store.failing = false;
    checkpointer.observe(await store.append(makeEntry(3)));
    checkpointer.observe(await store.append(makeEntry(4)));
    await checkpointer.idle();
    expect(store.rows.filter((r) => r.event === 'checkpoint').map((r) => r.checkpoint?.tree_size)).toEqual([4]);
    await checkpointer.close();
  });
});
