/**
 * Everything a pack reads from the trail, in two streaming passes: the rows as records (the
 * facts of the window and the inventory, folded side by side from one read), then the rows as
 * stored (the hash chain, the checkpoints verified with the deployment key, and the leaves of the
 * Merkle tree, built once for every inclusion proof of the pack).
 */
import type { KeyObject } from 'node:crypto';
import { LeafTree, PROOF_SCHEMA, hashRowLeaf, verifyChain, verifyExport } from '../audit/index.js';
import type { AuditStoreAdmin, Checkpoint, ExportReport, RawRow, VerifyReport } from '../audit/index.js';
import type { AuditRecord } from '../kernel/index.js';
import type { Inventory } from '../monitor/index.js';
import { fanOut } from './fan-out.js';
import { collectTrailFacts } from './trail-facts.js';
import type { TrailFacts, TrailWindow } from './trail-facts.js';

const PROOFS = 3;

export type ProofEntry = { seq: number } & (
  { ok: true; proof: Record<string, unknown> } | { ok: false; reason: 'no_such_row' | 'not_checkpointed'; latestTreeSize?: number }
);

export interface TrailScan {
  readonly facts: TrailFacts;
  readonly inventory: Inventory;
  readonly chain: VerifyReport;
  /** The chain, checkpoints and anchors verified with the deployment key; absent without one. */
  readonly withKeys?: ExportReport;
  /** Inclusion proofs of the last sample row of the first controls (at most three). */
  readonly proofs: readonly ProofEntry[];
}

export interface ScanOptions {
  readonly window: TrailWindow;
  readonly inventory: (rows: AsyncIterable<AuditRecord>) => Promise<Inventory>;
  readonly keys?: ReadonlyMap<string, KeyObject>;
  readonly anchored: readonly Checkpoint[];
}

export async function scanTrail(store: Pick<AuditStoreAdmin, 'read' | 'readRaw'>, options: ScanOptions): Promise<TrailScan> {
  const [facts, inventory] = await fanOut(store.read(), [(rows) => collectTrailFacts(rows, options.window), options.inventory] as const);
  const wanted = new Set([...new Set(Object.values(facts.samples).flatMap((rows) => rows.slice(-1).map((r) => r.seq)))].slice(0, PROOFS));

  const leaves: Buffer[] = [];
  const recordHashes = new Map<number, string>();
  let latest: (Checkpoint & { seq: number }) | undefined;
  const see = (row: RawRow): void => {
    leaves.push(hashRowLeaf(row.hash));
    if (wanted.has(row.seq)) recordHashes.set(row.seq, row.hash);
    if (!row.json.includes('"event":"checkpoint"')) return;
    const record = JSON.parse(row.json) as AuditRecord;
    const c = record.checkpoint;
    if (record.event === 'checkpoint' && c && (!latest || c.tree_size >= latest.tree_size)) latest = { ...c, seq: record.seq };
  };
  const keys = options.keys;
  const [chain, withKeys] = await fanOut(store.readRaw(), [
    (rows: AsyncIterable<RawRow>) => verifyChain(rows),
    async (rows: AsyncIterable<RawRow>) =>
      keys
        ? verifyExport(
            (async function* () {
              for await (const row of rows) yield row.json;
            })(),
            { keys, anchored: options.anchored },
          )
        : undefined,
    async (rows: AsyncIterable<RawRow>) => {
      for await (const row of rows) see(row);
    },
  ] as const);

  const tree = latest ? new LeafTree(latest.tree_size === leaves.length ? leaves : leaves.slice(0, latest.tree_size)) : undefined;
  const proofs = [...wanted].map((seq): ProofEntry => {
    const recordHash = recordHashes.get(seq);
    if (recordHash === undefined) return { seq, ok: false, reason: 'no_such_row' };
    if (!latest || !tree || latest.tree_size < seq)
      return latest ? { seq, ok: false, reason: 'not_checkpointed', latestTreeSize: latest.tree_size } : { seq, ok: false, reason: 'not_checkpointed' };
    const inclusionPath = tree.inclusionProof(seq - 1).map((h) => h.toString('hex'));
    return {
      seq,
      ok: true,
      proof: {
        schema: PROOF_SCHEMA,
        seq,
        record_hash: recordHash,
        leaf_index: seq - 1,
        tree_size: latest.tree_size,
        inclusion_path: inclusionPath,
        checkpoint: latest,
      },
    };
  });
  return { facts, inventory, chain, ...(withKeys ? { withKeys } : {}), proofs };
}
