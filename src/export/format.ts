/** Formats a record for a sink: the stored canonical JSON (jsonl) or its OCSF event. */
import { isPurgedRow } from '../audit/index.js';
import { canonicalize, CustosError } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { toOcsf } from './ocsf.js';
import type { ExportFormat } from './types.js';

/** Whether `format` carries the record: a purged row (tombstone) has no event to map to OCSF; JSON Lines keep it (the chain links through it). */
export function carries(record: AuditRecord, format: ExportFormat): boolean {
  return format !== 'ocsf' || !isPurgedRow(record);
}

/** One record as one line of JSON (no newline). Both forms carry `seq`, so a duplicate is recognisable. */
export function formatRecord(record: AuditRecord, format: ExportFormat): string {
  return format === 'ocsf' ? canonicalize(toOcsf(record)) : canonicalize(record);
}

/** The object form, for sinks that embed the event in an envelope (HEC, webhook). */
export function recordEvent(record: AuditRecord, format: ExportFormat): unknown {
  return format === 'ocsf' ? toOcsf(record) : record;
}

/**
 * A failed delivery. `reason` is short and stable (`http_503`, `unreachable`, `timeout`,
 * `write_failed`, …) and never holds a payload, a URL's credentials or a secret.
 */
export function deliveryFailed(reason: string, cause?: unknown): CustosError {
  return new CustosError('ERR_EXPORT_DELIVERY_FAILED', `sink delivery failed: ${reason}`, { cause, detail: { reason } });
}

/** The short reason of a delivery failure, for status and logs. */
export function failureReason(err: unknown): string {
  const reason = err instanceof CustosError ? err.detail?.['reason'] : undefined;
  return typeof reason === 'string' ? reason : 'delivery_failed';
}
