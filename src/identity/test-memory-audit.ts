/** Test support (not exported from index.ts): an audit store that keeps rows in memory. */
import type { AuditEntry, AuditRecord, AuditStore } from '../kernel/index.js';

export function createMemoryAudit(): AuditStore & { readonly rows: AuditEntry[] } {
  const rows: AuditEntry[] = [];
  return {
    rows,
    async append(entry) {
      rows.push(entry);
      return { ...entry, seq: rows.length, prev_hash: '', hash: '' } as AuditRecord;
    },
    async *read() {},
    async close() {},
  };
}
