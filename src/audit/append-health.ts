/**
 * Append health, for readiness: a store is failing from the moment an append fails for a
 * store reason (busy, disk full, read-only, I/O, closed, stalled…) until an append succeeds
 * again. Known without I/O, so a probe never waits on the store it reports on.
 */
import { CustosError } from '../kernel/index.js';
import type { AppendOptions, AuditEntry, AuditRecord, Clock } from '../kernel/index.js';
import type { AuditStoreAdmin } from './types.js';

export interface AppendHealth {
  readonly state: 'ok' | 'failing';
  /** The last failure's `detail.reason` (e.g. `busy`, `disk_full`). */
  readonly reason?: string;
  /** When the store started failing (ISO time). */
  readonly since?: string;
  /** Appends that failed since then. */
  readonly failedAppends?: number;
}

export interface MonitoredAuditStore extends AuditStoreAdmin {
  appendHealth(): AppendHealth;
}

export interface MonitorOptions {
  readonly clock?: Clock;
  /** Called once when an append succeeds after failures, with the outage it ended and the entry that got through. */
  readonly onRecovered?: (outage: AppendHealth, entry: AuditEntry) => void;
}

/** Reasons that say something about the entry, not about the store: they leave health alone. */
const ENTRY_REASONS = new Set(['invalid_entry']);
const OK: AppendHealth = { state: 'ok' };

function failureReason(err: unknown): string | undefined {
  if (!(err instanceof CustosError) || err.code !== 'ERR_AUDIT_UNAVAILABLE') return 'write_failed';
  const reason = err.detail?.reason;
  const text = typeof reason === 'string' ? reason : 'write_failed';
  return ENTRY_REASONS.has(text) ? undefined : text;
}

/** Wraps a store so that it knows its append health. Everything else passes through. */
export function monitorAppends(store: AuditStoreAdmin, options: MonitorOptions = {}): MonitoredAuditStore {
  const clock = options.clock ?? { now: () => new Date() };
  let health = OK;

  async function append(entry: AuditEntry, appendOptions?: AppendOptions): Promise<AuditRecord> {
    try {
      const record = await store.append(entry, appendOptions);
      const outage = health;
      health = OK;
      if (outage.state === 'failing') options.onRecovered?.(outage, entry);
      return record;
    } catch (err) {
      const reason = failureReason(err);
      if (reason !== undefined) {
        health = { state: 'failing', reason, since: health.since ?? clock.now().toISOString(), failedAppends: (health.failedAppends ?? 0) + 1 };
      }
      throw err;
    }
  }

  return {
    append,
    read: (opts) => store.read(opts),
    readRaw: (fromSeq) => store.readRaw(fromSeq),
    head: () => store.head(),
    close: () => store.close(),
    appendHealth: () => health,
  };
}
