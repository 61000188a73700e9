/**
 * Writes a signed checkpoint row every `everyRows` rows or every `everyMs` (whichever comes
 * first, and only when rows other than checkpoints arrived since the last one). It keeps
 * only the compact form of the tree (one hash per set bit of its size), extended by
 * reading the rows it has not seen yet from the store, so rows other replicas wrote are
 * covered too. A failed checkpoint never fails a call: it is reported and retried at the
 * next trigger. `withCheckpoints` wraps a store so that its appends drive the checkpointer.
 */
import { NO_BUNDLE_HASH, buildCheckpointRow } from '../kernel/index.js';
import type { AppendOptions, AuditEntry, AuditRecord, AuditStore, Clock, IdSource } from '../kernel/index.js';
import type { CheckpointSigner } from './checkpoint.js';
import { CompactTree, hashRowLeaf } from './merkle.js';
import type { AuditStoreAdmin } from './types.js';

export interface CheckpointerOptions {
  readonly signer: CheckpointSigner;
  /** A checkpoint after this many rows (other than checkpoints) appended through the wrapper. */
  readonly everyRows: number;
  /** And at most this long after a row, when fewer arrived. */
  readonly everyMs: number;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** The bundle in force, which the checkpoint row pins like every row. */
  readonly bundleHash?: () => string;
  /** A checkpoint that could not be written (the store is down); retried at the next trigger. */
  readonly onError?: (err: unknown) => void;
}

export interface Checkpointer {
  /** Counts a durable row; past `everyRows` a checkpoint is queued. */
  observe(record: AuditRecord): void;
  /** Writes a checkpoint now over every row so far; undefined when no row arrived since the last one. */
  checkpoint(): Promise<AuditRecord | undefined>;
  /** Waits for queued checkpoints. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function createCheckpointer(store: AuditStore, options: CheckpointerOptions): Checkpointer {
  const tree = new CompactTree();
  let pending = 0;
  let fresh = false;
  let queue: Promise<unknown> = Promise.resolve();
  let queued = false;
  const timer = setInterval(() => {
    if (pending > 0) enqueue();
  }, options.everyMs);
  timer.unref();

  async function catchUp(): Promise<void> {
    for await (const record of store.read({ fromSeq: tree.size + 1 })) {
      if (record.seq !== tree.size + 1) break;
      tree.append(hashRowLeaf(record.hash));
      if (record.event !== 'checkpoint') fresh = true;
    }
  }

  async function checkpoint(): Promise<AuditRecord | undefined> {
    pending = 0;
    await catchUp();
    if (!fresh) return undefined;
    const signed = options.signer.sign({ treeSize: tree.size, rootHash: tree.root().toString('hex') });
    const stamp = { time: options.clock.now().toISOString(), requestId: options.ids.newId(), bundleHash: options.bundleHash?.() ?? NO_BUNDLE_HASH };
    const record = await store.append(buildCheckpointRow(stamp, signed));
    fresh = false;
    return record;
  }

  function enqueue(): void {
    if (queued) return;
    queued = true;
    queue = queue
      .then(() => {
        queued = false;
        return checkpoint();
      })
      .catch((err: unknown) => options.onError?.(err));
  }

  return {
    observe(record) {
      if (record.event === 'checkpoint') return;
      pending += 1;
      if (pending >= options.everyRows) enqueue();
    },
    checkpoint: () => {
      const run = queue.then(checkpoint);
      queue = run.catch(() => undefined);
      return run;
    },
    idle: async () => {
      await queue;
    },
    close: async () => {
      clearInterval(timer);
      await queue;
    },
  };
}

/** The store whose appends drive `checkpointer`; closing it stops the checkpointer first. */
export function withCheckpoints(store: AuditStoreAdmin, checkpointer: Checkpointer): AuditStoreAdmin {
  return {
    append: async (entry: AuditEntry, options?: AppendOptions) => {
      const record = await store.append(entry, options);
      checkpointer.observe(record);
      return record;
    },
    read: (options) => store.read(options),
    head: () => store.head(),
    readRaw: (fromSeq) => store.readRaw(fromSeq),
    close: async () => {
      await checkpointer.close();
      await store.close();
    },
  };
}
