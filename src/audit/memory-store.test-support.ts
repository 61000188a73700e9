/**
 * Test support (never in dist/): the one in-memory audit store every unit test uses. It
 * chains rows exactly as the real stores do (same entry check, same hash), so a trail
 * written in a test verifies with `verifyChain`. Set `failing` to make appends reject as a
 * full disk would, or `beforeAppend` to delay or fail chosen rows.
 */
import { CustosError, GENESIS_HASH, canonicalize } from '../kernel/index.js';
import type { AuditEntry, AuditRecord, Clock } from '../kernel/index.js';
import type { AuditStoreAdmin } from './types.js';
import { chainRecord } from './chain-hash.js';
import { prepareEntry } from './store-common.js';

export interface MemoryAuditStore extends AuditStoreAdmin {
  /** Every appended record, in seq order. */
  readonly rows: AuditRecord[];
  /** While true, every append rejects with ERR_AUDIT_UNAVAILABLE (reason `disk_full`). */
  failing: boolean;
  /** Awaited before each append: a row is written once it resolves, and not at all if it rejects (the append rejects with its error). */
  beforeAppend?: (entry: AuditEntry) => Promise<void>;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };

export function createMemoryAudit(clock: Clock = SYSTEM_CLOCK): MemoryAuditStore {
  const rows: AuditRecord[] = [];
  const store: MemoryAuditStore = {
    rows,
    failing: false,
    async append(entry: AuditEntry): Promise<AuditRecord> {
      if (store.failing) throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { detail: { reason: 'disk_full' } });
      await store.beforeAppend?.(entry);
      const last = rows.at(-1);
      const { record } = chainRecord(prepareEntry(entry, clock), last ?? { seq: 0, hash: GENESIS_HASH });
      rows.push(record);
      return record;
    },
    async *read(options) {
      const from = options?.fromSeq ?? 1;
      yield* rows.filter((row) => row.seq >= from).slice(0, options?.limit ?? rows.length);
    },
    async *readRaw(fromSeq = 1) {
      for (const row of rows) if (row.seq >= fromSeq) yield { seq: row.seq, hash: row.hash, json: canonicalize(row) };
    },
    head: async () => {
      const last = rows.at(-1);
      return last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
    },
    async close() {},
  };
  return store;
}
