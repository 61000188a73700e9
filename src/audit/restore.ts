/**
 * Restores a trail from its JSONL copy (a backup, an export) into an empty store. The copy
 * is verified first, whole; then each record is appended again without its chain fields.
 * The store chains it exactly as it was (same seq, same prev_hash, same hash: the chain is
 * a function of the records' content and order), and each hash it returns is compared with
 * the copy's, so the restored trail is the backed-up trail, bit for bit, or the restore fails.
 */
import { CustosError } from '../kernel/index.js';
import type { AuditEntry, AuditRecord } from '../kernel/index.js';
import type { AuditStoreAdmin, ChainHead } from './types.js';
import { verifyChain } from './verify-chain.js';

export interface RestoreOptions {
  /**
   * Appends in flight at once. A store that chains appends in the order they were made (the
   * SQLite writer thread) takes many; one whose concurrent appends may be reordered
   * (PostgreSQL: each append its own transaction) needs 1.
   */
  readonly concurrency: number;
}

export interface RestoreResult {
  readonly rows: number;
  readonly head?: ChainHead;
}

type Lines = () => AsyncIterable<string> | Iterable<string>;

/** `lines` is called twice: once to verify the copy, once to append it. */
export async function restoreTrail(target: AuditStoreAdmin, lines: Lines, options: RestoreOptions): Promise<RestoreResult> {
  const report = await verifyChain(lines());
  if (!report.ok) {
    throw new CustosError(
      'ERR_AUDIT_CHAIN_BROKEN',
      `the backup does not verify: ${report.reason ?? 'broken'} at seq ${report.firstBrokenSeq}; nothing was restored`,
      {
        detail: { seq: report.firstBrokenSeq },
      },
    );
  }
  const head = await target.head();
  if (head.seq !== 0) throw new CustosError('ERR_AUDIT_STORE_INVALID', `the target trail is not empty (head seq ${head.seq}): restore only into a new store`);
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  for await (const line of lines()) {
    const record = JSON.parse(line) as AuditRecord;
    const { seq: _s, prev_hash: _p, hash: _h, ...entry } = record;
    const appended = target.append(entry as AuditEntry).then(
      (written) => {
        if (written.seq !== record.seq || written.hash !== record.hash) failure ??= mismatch(record.seq);
      },
      (err: unknown) => {
        failure ??= err;
      },
    );
    const tracked = appended.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= options.concurrency) await Promise.race(inFlight);
    if (failure) break;
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  return report.head ? { rows: report.count, head: report.head } : { rows: report.count };
}

function mismatch(seq: number): CustosError {
  return new CustosError('ERR_AUDIT_CHAIN_BROKEN', `the restored row ${seq} does not chain as in the backup; discard the target store`, { detail: { seq } });
}
