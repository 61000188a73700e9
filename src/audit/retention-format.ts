/**
 * The stored forms of a retention purge. A purged row becomes a tombstone that keeps only
 * what the chain and the Merkle tree need:
 *   {"hash":H,"prev_hash":P,"purged_by":S,"schema":"custos.purged/v1","seq":N}
 * (RFC 8785 order), where S is the seq of the `admin` row `retention_purge` that lists N in
 * `detail.purged` (ranges [from, to], inclusive). The body is gone; the hash stays.
 *
 * `renderTombstone` has no runtime dependencies: the SQLite writer thread runs it as source.
 */
import { CustosError } from '../kernel/index.js';
import type { AuditEntry, AuditRecord } from '../kernel/index.js';

export const PURGED_SCHEMA = 'custos.purged/v1' as const;
/** `detail.action` of the row that records a purge. */
export const PURGE_ACTION = 'retention_purge' as const;

/** A purged row as read back: the chain fields and the purge that removed its body. */
export interface Tombstone {
  readonly schema: typeof PURGED_SCHEMA;
  readonly seq: number;
  readonly prev_hash: string;
  readonly hash: string;
  readonly purged_by: number;
}

export function renderTombstone(seq: number, prevHash: string, hash: string, purgedBy: number): string {
  return `{"hash":${JSON.stringify(hash)},"prev_hash":${JSON.stringify(prevHash)},"purged_by":${purgedBy},"schema":"custos.purged/v1","seq":${seq}}`;
}

/** A row whose body a retention purge removed (read() yields these as they are stored). */
export function isPurgedRow(record: AuditRecord | Tombstone): record is Tombstone {
  return (record.schema as string) === PURGED_SCHEMA;
}

/** Exactly the five members of a tombstone, nothing else (a tombstone cannot carry data). */
export function isTombstone(value: object): boolean {
  const keys = Object.keys(value).sort().join(',');
  return keys === 'hash,prev_hash,purged_by,schema,seq' && Number.isSafeInteger((value as Tombstone).purged_by);
}

/** The seq ranges a `retention_purge` row lists, or undefined when the row is not one. */
export function purgedRanges(record: AuditRecord): ReadonlyArray<readonly [number, number]> | undefined {
  const detail = record.event === 'admin' ? record.detail : undefined;
  if (detail?.action !== PURGE_ACTION || !Array.isArray(detail.purged)) return undefined;
  return (detail.purged as unknown[]).filter(
    (r): r is [number, number] => Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]),
  );
}

/** The ranges a store's `purge(entry)` removes; an entry that is not a retention purge row is refused (both stores). */
export function purgeEntryRanges(entry: AuditEntry): ReadonlyArray<readonly [number, number]> {
  const ranges = purgedRanges(entry as AuditRecord);
  if (!ranges) throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'A purge entry must be a retention_purge admin row.', { detail: { reason: 'invalid_entry' } });
  return ranges;
}
