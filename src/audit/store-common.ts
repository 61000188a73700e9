/** What every audit store backend shares: entry checks, row parsing and append errors. */
import { AUDIT_SCHEMA, CustosError } from '../kernel/index.js';
import type { AuditEntry, AuditRecord, Clock } from '../kernel/index.js';
import { canonicalSegments } from './chain-hash.js';
import type { CanonicalSegments } from './chain-hash.js';
import type { Sealer } from './sealing.js';
import type { RawRow } from './types.js';

export interface StoredRow {
  seq: number;
  hash: string;
  record: string;
}

/** Checks the marker and fills `time`; the chain fields are added inside the backend's transaction. */
export function prepareEntry(entry: AuditEntry, clock: Clock): Omit<AuditRecord, 'hash' | 'seq' | 'prev_hash'> {
  if (typeof entry !== 'object' || entry === null || entry.schema !== AUDIT_SCHEMA) {
    throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit entry is not a custos.audit/v1 entry.', { detail: { reason: 'invalid_entry' } });
  }
  return entry.time ? entry : { ...entry, time: clock.now().toISOString() };
}

/** The entry's canonical segments; an entry that has none (a cycle, a non-finite number) is refused as such. */
export function toSegments(fields: object): CanonicalSegments {
  try {
    return canonicalSegments(fields);
  } catch (err) {
    throw new CustosError('ERR_AUDIT_UNAVAILABLE', 'The audit entry cannot be canonicalised.', { cause: err, detail: { reason: 'invalid_entry' } });
  }
}

export function parseStored(row: StoredRow): AuditRecord {
  try {
    return JSON.parse(row.record) as AuditRecord;
  } catch (err) {
    throw new CustosError('ERR_AUDIT_CHAIN_BROKEN', 'A stored audit row does not parse.', { cause: err, detail: { seq: row.seq } });
  }
}

/** Any append failure is ERR_AUDIT_UNAVAILABLE with a short reason; the message never carries the entry. */
export function toAppendError(err: unknown, reasons: ReadonlyArray<readonly [RegExp, string]>): CustosError {
  if (err instanceof CustosError && err.code === 'ERR_AUDIT_UNAVAILABLE') return err;
  const code = (err as { code?: unknown } | null)?.code;
  const match = typeof code === 'string' ? reasons.find(([re]) => re.test(code)) : undefined;
  return new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { cause: err, detail: { reason: match?.[1] ?? 'write_failed' } });
}

/**
 * `read` and `readRaw` over a backend's paged row source; sealed rows are opened with the
 * store's keys. `read` throws ERR_AUDIT_DECRYPT_FAILED on a row it cannot open; `readRaw`
 * hands a row whose ciphertext does not authenticate on as stored, so verification names it
 * (`undecryptable`), and throws only when the key is not registered at all.
 */
export function createReaders(
  readPages: (fromSeq: number, pageSize?: number) => AsyncIterable<StoredRow>,
  sealer: Sealer,
): {
  read(opts?: { fromSeq?: number; limit?: number }): AsyncIterable<AuditRecord>;
  readRaw(fromSeq?: number): AsyncIterable<RawRow>;
} {
  return {
    async *read(opts) {
      let left = opts?.limit ?? Number.POSITIVE_INFINITY;
      if (left <= 0) return;
      // A short read (the search index reads rows by seq) asks for no bigger a page than it needs.
      for await (const row of readPages(opts?.fromSeq ?? 1, Number.isFinite(left) ? left : undefined)) {
        yield parseStored({ ...row, record: sealer.open(row.seq, row.record) });
        if (--left <= 0) return;
      }
    },
    async *readRaw(fromSeq = 1) {
      for await (const row of readPages(fromSeq)) {
        let json = row.record;
        try {
          json = sealer.open(row.seq, row.record);
        } catch (err) {
          if ((err as CustosError).detail?.reason !== 'ciphertext_invalid') throw err;
        }
        yield { seq: row.seq, hash: row.hash, json };
      }
    },
  };
}
