/**
 * Inclusion proofs (`custos audit prove SEQ`): that row SEQ is in the tree a signed
 * checkpoint commits to. The proof carries the row's chain hash, the RFC 9162 audit path
 * and the checkpoint; `verifyProof` checks it with the public keys alone.
 */
import type { KeyObject } from 'node:crypto';
import type { AuditRecord } from '../kernel/index.js';
import type { AuditStoreAdmin } from './types.js';
import { isCheckpoint, verifyCheckpointSignature } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { LeafTree, hashRowLeaf, verifyInclusion } from './merkle.js';
import type { Hash } from './merkle.js';

export const PROOF_SCHEMA = 'custos.proof/v1' as const;

export interface InclusionProof {
  readonly schema: typeof PROOF_SCHEMA;
  readonly seq: number;
  /** The row's `hash`: the leaf is SHA-256(0x00 ‖ these 32 bytes). */
  readonly record_hash: string;
  /** seq − 1. */
  readonly leaf_index: number;
  readonly tree_size: number;
  /** RFC 9162 audit path, hex, leaf to root. */
  readonly inclusion_path: readonly string[];
  /** The checkpoint whose root the path leads to, and the seq of its row. */
  readonly checkpoint: Checkpoint & { readonly seq: number };
}

export type ProveResult = { ok: true; proof: InclusionProof } | { ok: false; reason: 'no_such_row' | 'not_checkpointed'; latestTreeSize?: number };

/**
 * Proves row `seq` against the latest (largest) checkpoint in the store: `proveMany` for one
 * row. For many rows (an evidence pack), call `proveMany` once.
 */
export async function proveInclusion(store: Pick<AuditStoreAdmin, 'readRaw'>, seq: number): Promise<ProveResult> {
  return (await proveMany(store, [seq])).get(seq)!;
}

/**
 * Proves each of `seqs` against the latest (largest) checkpoint in the store. Reads the trail
 * once as stored rows, whatever the number of proofs: a leaf comes from the row's hash column,
 * only checkpoint rows are parsed (a row whose column and text disagree gives a proof that
 * fails to verify), and the tree is built once. The map holds one result per distinct seq.
 */
export async function proveMany(store: Pick<AuditStoreAdmin, 'readRaw'>, seqs: Iterable<number>): Promise<Map<number, ProveResult>> {
  const wanted = new Map<number, string | undefined>([...seqs].map((seq) => [seq, undefined]));
  const leaves: Hash[] = [];
  let latest: (Checkpoint & { seq: number }) | undefined;
  for await (const row of store.readRaw()) {
    leaves.push(hashRowLeaf(row.hash));
    if (wanted.has(row.seq)) wanted.set(row.seq, row.hash);
    if (!row.json.includes('"event":"checkpoint"')) continue;
    const record = JSON.parse(row.json) as AuditRecord;
    const c = record.checkpoint;
    if (record.event === 'checkpoint' && c && (!latest || c.tree_size >= latest.tree_size)) latest = { ...c, seq: record.seq };
  }
  const tree = latest ? new LeafTree(leaves.slice(0, latest.tree_size)) : undefined;
  const results = new Map<number, ProveResult>();
  for (const [seq, recordHash] of wanted) {
    if (recordHash === undefined) results.set(seq, { ok: false, reason: 'no_such_row' });
    else if (!latest || !tree || latest.tree_size < seq)
      results.set(seq, latest ? { ok: false, reason: 'not_checkpointed', latestTreeSize: latest.tree_size } : { ok: false, reason: 'not_checkpointed' });
    else {
      const path = tree.inclusionProof(seq - 1).map((h) => h.toString('hex'));
      const proof = {
        schema: PROOF_SCHEMA,
        seq,
        record_hash: recordHash,
        leaf_index: seq - 1,
        tree_size: latest.tree_size,
        inclusion_path: path,
        checkpoint: latest,
      };
      results.set(seq, { ok: true, proof });
    }
  }
  return results;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Checks a proof offline: the checkpoint's signature, then the path from the row's hash to its root. */
export function verifyProof(proof: unknown, keys: ReadonlyMap<string, KeyObject>): { ok: boolean; reason?: string } {
  const p = proof as Partial<InclusionProof> | null;
  if (!p || p.schema !== PROOF_SCHEMA || !isCheckpoint(p.checkpoint) || typeof p.record_hash !== 'string' || !HEX64.test(p.record_hash))
    return { ok: false, reason: 'malformed' };
  if (!Array.isArray(p.inclusion_path) || !p.inclusion_path.every((h) => typeof h === 'string' && HEX64.test(h))) return { ok: false, reason: 'malformed' };
  const signature = verifyCheckpointSignature(p.checkpoint, keys);
  if (!signature.ok) return { ok: false, reason: `checkpoint_${signature.reason}` };
  const { tree_size: size, root_hash: root } = p.checkpoint;
  const included =
    p.tree_size === size &&
    p.leaf_index === (p.seq ?? 0) - 1 &&
    verifyInclusion(
      hashRowLeaf(p.record_hash),
      p.leaf_index ?? -1,
      size,
      p.inclusion_path.map((h) => Buffer.from(h, 'hex')),
      Buffer.from(root, 'hex'),
    );
  return included ? { ok: true } : { ok: false, reason: 'not_included' };
}
