import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, canonicalize } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { chainRecord } from './chain-hash.js';
import { createCheckpointSigner, loadVerifyKeys } from './checkpoint.js';
import type { Checkpoint, CheckpointSigner } from './checkpoint.js';
import { createCheckpointer } from './checkpointer.js';
import { createMemoryAudit, makeEntry } from './index.test-support.js';
import { verifyExport } from './verify-export.js';
import type { ExportReport } from './verify-export.js';

function newKey(): { signer: CheckpointSigner; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signer: createCheckpointSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const KEY = newKey();
const KEYS = loadVerifyKeys([KEY.publicPem]);
let ids = 0;
const deps = { everyRows: 1000, everyMs: 3_600_000, clock: { now: () => new Date('2025-01-01T00:00:00Z') }, ids: { newId: () => `cp-${(ids += 1)}` } };

/** 20 rows with a checkpoint after rows 5, 11 and 17 (rows 6, 12, 18 are checkpoints): 23 lines. */
async function buildTrail(signers: CheckpointSigner[] = [KEY.signer]): Promise<AuditRecord[]> {
  const store = createMemoryAudit();
  let n = 0;
  for (const signer of [signers[0]!, signers.at(-1)!, signers.at(-1)!]) {
    const cp = createCheckpointer(store, { ...deps, signer });
    for (let k = 0; k < 5; k += 1) await store.append(makeEntry((n += 1)));
    await cp.checkpoint();
    await cp.close();
  }
  for (let k = 0; k < 5; k += 1) await store.append(makeEntry((n += 1)));
  return store.rows;
}

const lines = (records: readonly AuditRecord[]): string[] => records.map((r) => canonicalize(r));
const kinds = (report: ExportReport): string[] => report.findings.map((f) => `${f.kind}@${f.seq ?? '-'}`);

/** What someone with write access does to cover their tracks: recompute every seq and hash. */
function rechain(records: readonly AuditRecord[]): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const r of records) out.push(chainRecord(r, out.at(-1) ?? { seq: 0, hash: GENESIS_HASH }).record);
  return out;
}

describe('verifyExport: offline, from an export and a public key', () => {
  it('passes an intact export: the chain, three signed checkpoints, their roots and their consistency', async () => {
    const trail = await buildTrail();
    expect(trail.filter((r) => r.event === 'checkpoint').map((r) => [r.seq, r.checkpoint?.tree_size])).toEqual([
      [6, 5],
      [12, 11],
      [18, 17],
    ]);
    const report = await verifyExport(lines(trail), { keys: KEYS });
    expect(report).toMatchObject({ ok: true, rows: 23, checkpoints: 3, findings: [], latest: { tree_size: 17 } });
  });

  it('names a changed field', async () => {
    const trail = await buildTrail();
    const tampered = lines(trail);
    tampered[2] = tampered[2]!.replace('"sub":"user-123"', '"sub":"user-999"');
    expect(kinds(await verifyExport(tampered, { keys: KEYS }))).toEqual(['field_changed@3']);
  });

  it('names a changed field even when the row was re-hashed (the next row no longer follows it)', async () => {
    const trail = await buildTrail();
    const changed = chainRecord({ ...trail[2]!, user: { sub: 'user-999' } }, trail[1]!).record;
    const tampered = lines([...trail.slice(0, 2), changed, ...trail.slice(3)]);
    expect(kinds(await verifyExport(tampered, { keys: KEYS }))).toEqual(['field_changed@3']);
  });

  it('names a deleted row', async () => {
    const trail = await buildTrail();
    const tampered = lines(trail.filter((r) => r.seq !== 8));
    expect(kinds(await verifyExport(tampered, { keys: KEYS }))).toEqual(['row_deleted@8']);
  });

  it('names two rows swapped', async () => {
    const trail = await buildTrail();
    const tampered = lines(trail);
    [tampered[7], tampered[8]] = [tampered[8]!, tampered[7]!];
    expect(kinds(await verifyExport(tampered, { keys: KEYS }))).toEqual(['rows_swapped@8']);
  });

  it('names an inserted row (chained correctly after the row before it)', async () => {
    const trail = await buildTrail();
    const forged = chainRecord(makeEntry(99, { user: { sub: 'intruder' } }) as Omit<AuditRecord, 'hash' | 'seq' | 'prev_hash'>, trail[3]!).record;
    const tampered = lines([...trail.slice(0, 4), forged, ...trail.slice(4)]);
    expect(kinds(await verifyExport(tampered, { keys: KEYS }))).toEqual(['row_inserted@5']);
  });

  it('names an inserted row when the rows after it were renumbered and the chain rebuilt: the checkpoints no longer match', async () => {
    const trail = await buildTrail();
    const forged = { ...makeEntry(99, { user: { sub: 'intruder' } }), seq: 0, prev_hash: '', hash: '' } as AuditRecord;
    const tampered = lines(rechain([...trail.slice(0, 4), forged, ...trail.slice(4)]));
    const report = await verifyExport(tampered, { keys: KEYS });
    expect(report.ok).toBe(false);
    expect(new Set(report.findings.map((f) => f.kind))).toEqual(new Set(['checkpoint_root_mismatch']));
  });

  it('names rows cut off the end, against a checkpoint held elsewhere', async () => {
    const trail = await buildTrail();
    // The operator kept the last checkpoint (rows 1..17) outside, e.g. from `custos audit prove`.
    const checkpoint = trail.find((r) => r.seq === 18)!.checkpoint!;
    const tampered = lines(trail.slice(0, 14));
    const report = await verifyExport(tampered, { keys: KEYS, checkpoint });
    expect(kinds(report)).toEqual(['truncated@15']);
    expect(report.findings[0]!.message).toContain('covers rows 1..17');
    // The same cut export passes its own chain: without the held checkpoint nothing outside could tell.
    expect((await verifyExport(tampered, { keys: KEYS })).ok).toBe(true);
  });

  it('names a forged checkpoint: a root changed and the chain rebuilt over it', async () => {
    const trail = await buildTrail();
    const cp = trail[11]!.checkpoint!;
    const forged = { ...trail[11]!, checkpoint: { ...cp, root_hash: 'f'.repeat(64) } };
    const tampered = lines(rechain([...trail.slice(0, 11), forged, ...trail.slice(12)]));
    // And the next checkpoint, whose root covers the rebuilt row 12, no longer matches either.
    expect(kinds(await verifyExport(tampered, { keys: KEYS }))).toEqual(['checkpoint_forged@12', 'checkpoint_root_mismatch@18']);
  });

  it('names a checkpoint signed with a key the verifier does not hold, and a forged checkpoint given with --checkpoint', async () => {
    const trail = await buildTrail();
    const mallory = newKey();
    const forgedCp = mallory.signer.sign({ treeSize: 11, rootHash: trail[11]!.checkpoint!.root_hash });
    const tampered = lines(rechain([...trail.slice(0, 11), { ...trail[11]!, checkpoint: forgedCp }, ...trail.slice(12)]));
    const report = await verifyExport(tampered, { keys: KEYS });
    expect(kinds(report)).toEqual(['checkpoint_forged@12', 'checkpoint_root_mismatch@18']);
    expect(report.findings[0]!.message).toContain('key_unknown');

    const given: Checkpoint = { ...trail[17]!.checkpoint!, tree_size: 30 };
    expect(kinds(await verifyExport(lines(trail), { keys: KEYS, checkpoint: given }))).toEqual(['checkpoint_forged@-']);
  });

  it('accepts a rotation: checkpoints under an old and a new key both verify when both public keys are given', async () => {
    const next = newKey();
    const trail = await buildTrail([KEY.signer, next.signer]);
    expect(new Set(trail.filter((r) => r.checkpoint).map((r) => r.checkpoint!.key_id)).size).toBe(2);
    expect((await verifyExport(lines(trail), { keys: loadVerifyKeys([KEY.publicPem, next.publicPem]) })).ok).toBe(true);
    expect(kinds(await verifyExport(lines(trail), { keys: loadVerifyKeys([next.publicPem]) }))).toEqual(['checkpoint_forged@6']);
  });

  it('passes against a held checkpoint the export reaches, and names one whose root the rows do not give', async () => {
    const trail = await buildTrail();
    const held = trail[17]!.checkpoint!;
    expect(await verifyExport(lines(trail), { keys: KEYS, checkpoint: held })).toMatchObject({ ok: true, checkpoints: 4 });
    const other = KEY.signer.sign({ treeSize: 10, rootHash: 'a'.repeat(64) });
    expect(kinds(await verifyExport(lines(trail), { keys: KEYS, checkpoint: other }))).toEqual(['checkpoint_root_mismatch@-']);
  });
});
