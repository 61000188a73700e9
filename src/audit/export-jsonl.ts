import { canonicalize } from '../kernel/index.js';
import type { AuditStore } from '../kernel/index.js';
import type { ChainHead } from './types.js';

export interface ExportJsonlOptions {
  /** First seq to export (inclusive, default 1). */
  readonly fromSeq?: number;
  /** Last seq to export (inclusive, default: the end of the trail). */
  readonly toSeq?: number;
}

export interface ExportJsonlResult {
  readonly count: number;
  /** The last exported record's (seq, hash); absent when nothing was exported. */
  readonly head?: ChainHead;
}

/**
 * Streams records in seq order as JSON Lines: each call to `write` gets one record's
 * RFC 8785 canonical JSON followed by "\n". Memory stays constant; when `write` returns a
 * promise (backpressure), the next record waits for it.
 */
export async function exportJsonl(
  store: AuditStore,
  write: (line: string) => void | Promise<void>,
  options: ExportJsonlOptions = {},
): Promise<ExportJsonlResult> {
  const toSeq = options.toSeq ?? Number.POSITIVE_INFINITY;
  let count = 0;
  let head: ChainHead | undefined;
  const readOptions = options.fromSeq === undefined ? {} : { fromSeq: options.fromSeq };
  for await (const record of store.read(readOptions)) {
    if (record.seq > toSeq) break;
    await write(`${canonicalize(record)}\n`);
    count += 1;
    head = { seq: record.seq, hash: record.hash };
  }
  return head ? { count, head } : { count };
}
