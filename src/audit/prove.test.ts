import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCheckpointSigner, loadVerifyKeys } from './checkpoint.js';
import { createCheckpointer } from './checkpointer.js';
import { createMemoryAudit, makeEntry } from './index.test-support.js';
import { proveInclusion, proveMany, verifyProof } from './prove.js';
import type { InclusionProof } from './prove.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signer = createCheckpointSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const keys = loadVerifyKeys([publicKey.export({ type: 'spki', format: 'pem' }).toString()]);

async function trail() {
  const store = createMemoryAudit();
  const cp = createCheckpointer(store, { signer, everyRows: 1000, everyMs: 3_600_000, clock: { now: () => new Date() }, ids: { newId: () => 'cp' } });
  for (let n = 1; n <= 6; n += 1) await store.append(makeEntry(n));
  await cp.checkpoint();
  for (let n = 7; n <= 13; n += 1) await store.append(makeEntry(n));
  await cp.checkpoint();
  await store.append(makeEntry(14));
  await cp.close();
  return store;
}

describe('inclusion proofs', () => {
  it('proves every checkpointed row against the latest checkpoint, and the proof verifies with the public key alone', async () => {
    const store = await trail();
    for (let seq = 1; seq <= 14; seq += 1) {
      const result = await proveInclusion(store, seq);
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      expect(result.proof).toMatchObject({ seq, tree_size: 14, record_hash: store.rows[seq - 1]!.hash, checkpoint: { seq: 15, tree_size: 14 } });
      expect(verifyProof(JSON.parse(JSON.stringify(result.proof)), keys)).toEqual({ ok: true });
    }
  });

  it('says when a row is not yet covered by a checkpoint, or does not exist', async () => {
    const store = await trail();
    expect(await proveInclusion(store, 16)).toEqual({ ok: false, reason: 'not_checkpointed', latestTreeSize: 14 });
    expect(await proveInclusion(store, 99)).toEqual({ ok: false, reason: 'no_such_row' });
  });

  it('rejects a proof for another row, a changed path, or a checkpoint the keys do not sign', async () => {
    const store = await trail();
    const result = await proveInclusion(store, 5);
    if (!result.ok) throw new Error('no proof');
    const proof: InclusionProof = result.proof;
    expect(verifyProof({ ...proof, record_hash: store.rows[5]!.hash }, keys)).toEqual({ ok: false, reason: 'not_included' });
    expect(verifyProof({ ...proof, inclusion_path: [...proof.inclusion_path].reverse() }, keys)).toEqual({ ok: false, reason: 'not_included' });
    expect(verifyProof({ ...proof, checkpoint: { ...proof.checkpoint, tree_size: 15 } }, keys)).toEqual({ ok: false, reason: 'checkpoint_signature_invalid' });
    expect(verifyProof({ ...proof, schema: 'x' }, keys)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('proves many rows from one read of the trail, each proof the one proveInclusion gives', async () => {
    const store = await trail();
    let reads = 0;
    const counted = {
      readRaw: (...args: Parameters<typeof store.readRaw>) => {
        reads += 1;
        return store.readRaw(...args);
      },
    };
    const results = await proveMany(counted, [1, 7, 14, 14, 16, 99]);
    expect(reads).toBe(1);
    expect([...results.keys()]).toEqual([1, 7, 14, 16, 99]);
    for (const seq of [1, 7, 14]) {
      expect(results.get(seq)).toEqual(await proveInclusion(store, seq));
      const r = results.get(seq)!;
      expect(r.ok && verifyProof(r.proof, keys)).toEqual({ ok: true });
    }
    expect(results.get(16)).toEqual({ ok: false, reason: 'not_checkpointed', latestTreeSize: 14 });
    expect(results.get(99)).toEqual({ ok: false, reason: 'no_such_row' });
  });
});
