/** Types of the audit module's public surface. */
import type { AuditEntry, AuditRecord, AuditStore, Clock } from '../kernel/index.js';
import type { RecordKeys } from './sealing.js';

/** The chain position after the last record: seq 0 and GENESIS_HASH for an empty trail. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * One stored row as the store holds it, before any parsing: the seq and hash columns and
 * the record's canonical JSON text. Verification works on these so that a changed byte in
 * the stored text is caught even when it no longer parses.
 */
export interface RawRow {
  readonly seq: number;
  readonly hash: string;
  readonly json: string;
}

export interface AuditStoreOptions {
  /** How long an append waits for another writer's lock before failing (default 2000 ms). */
  readonly busyTimeoutMs?: number;
  /** Open without writing anything (no schema creation, no pragmas that write); append fails. */
  readonly readonly?: boolean;
  /** Supplies `time` for entries that carry none. */
  readonly clock?: Clock;
  /** Encryption at rest: new rows are sealed under `keys.active`; sealed rows are opened with the key their `kid` names. */
  readonly keys?: RecordKeys;
}

export interface AuditStoreAdmin extends AuditStore {
  /** The last (seq, hash); `{ seq: 0, hash: GENESIS_HASH }` when the trail is empty. */
  head(): Promise<ChainHead>;
  /** Stored rows in seq order from `fromSeq` (default 1), unparsed (sealed rows opened). */
  readRaw(fromSeq?: number): AsyncIterable<RawRow>;
  /**
   * One batch of a retention purge, in one transaction: appends `entry` (an `admin` row
   * `retention_purge` whose `detail.purged` lists seq ranges) and replaces each listed row by
   * its tombstone. Only the backends have it (wrappers such as withCheckpoints do not pass it on).
   */
  purge?(entry: AuditEntry): Promise<{ readonly record: AuditRecord; readonly purged: number }>;
}

/** Opens a store for a URI whose scheme it was registered under. Receives the whole URI. */
export type AuditStoreFactory = (uri: string, options: AuditStoreOptions) => Promise<AuditStoreAdmin>;

/** Short, stable reasons a chain does not verify. */
export type VerifyFailure =
  | 'unparseable'
  | 'non_canonical'
  | 'malformed'
  | 'schema_mismatch'
  | 'seq_mismatch'
  | 'seq_gap'
  | 'seq_regression'
  | 'prev_hash_mismatch'
  | 'hash_mismatch'
  | 'hash_column_mismatch'
  | 'truncated'
  | 'undecryptable' // a sealed row whose ciphertext does not authenticate under its key (changed at rest)
  | 'purge_unrecorded'; // a purged row (tombstone) that no later retention purge row lists

export interface VerifyReport {
  readonly ok: boolean;
  /** Records that verified (all of them when ok, the intact prefix otherwise). */
  readonly count: number;
  /** The last verified record. Absent when nothing verified. */
  readonly head?: ChainHead;
  /** Lowest seq whose integrity cannot be established (for a missing row, its seq). */
  readonly firstBrokenSeq?: number;
  readonly reason?: VerifyFailure;
}
