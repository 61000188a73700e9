/**
 * The one way a row reaches the trail: built by a builder of audit-rows.ts, its `detail`
 * redacted, appended durably, then shown to the monitor hook. Every writer of rows (the
 * pipeline, identity, the app) goes through a writer made here.
 */
import { CustosError } from './errors.js';
import type { AppendOptions, AuditStore, Protector } from './ports.js';
import type { AuditEntry, AuditRecord } from './types.js';

/** Sees every row once the store has it (durable; a result row: written, see AppendDurability) (anomaly rules, metrics). Its errors never reach a caller. */
export type AuditMonitor = (record: AuditRecord) => void;

export interface AuditWriterDeps {
  readonly audit: AuditStore;
  readonly protector: Pick<Protector, 'redact'>;
  readonly monitor?: AuditMonitor;
}

export interface WriteOptions extends AppendOptions {
  readonly timeMonitor?: (startMs: number, endMs: number) => void;
}

export interface AuditWriter {
  /**
   * Redacts the row's `detail` (ERR_PROTECT_FAILED when it cannot) and appends it; resolves
   * once it is durable (or only written, when `options.durability` says so). ERR_AUDIT_UNAVAILABLE
   * when the store cannot write. `options.timeMonitor` is told when the monitor hook started and
   * ended (the call's `monitor` stage span).
   */
  write(entry: AuditEntry, options?: WriteOptions): Promise<AuditRecord>;
}

export function createAuditWriter(deps: AuditWriterDeps): AuditWriter {
  function redactDetail(entry: AuditEntry): AuditEntry {
    if (entry.detail === undefined) return entry;
    try {
      return { ...entry, detail: deps.protector.redact(entry.detail).value };
    } catch (err) {
      throw new CustosError('ERR_PROTECT_FAILED', undefined, { cause: err });
    }
  }

  async function write(entry: AuditEntry, options: WriteOptions = {}): Promise<AuditRecord> {
    const { timeMonitor, ...append } = options;
    const redacted = redactDetail(entry);
    let record: AuditRecord;
    try {
      record = await deps.audit.append(redacted, append);
    } catch (err) {
      throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { cause: err });
    }
    const start = timeMonitor ? performance.now() : 0;
    try {
      deps.monitor?.(record);
    } catch {
      // the monitor never decides a call
    }
    if (timeMonitor) timeMonitor(start, performance.now());
    return record;
  }

  return { write };
}
