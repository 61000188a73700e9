/**
 * The audit store as the app runs it: append health for /readyz, an `audit_store_recovered`
 * admin row when an outage ends, and a probe that ends one when no call comes (a replica
 * taken out of the balancer gets no traffic, so only a probe can bring it back).
 */
import { monitorAppends } from '../audit/index.js';
import type { AppendHealth, AuditStoreAdmin, MonitoredAuditStore } from '../audit/index.js';
import type { AuditReadiness } from '../gateway/index.js';
import type { Clock, ControlPlaneRecorder } from '../kernel/index.js';
import type { Logger } from './logger.js';

/** `detail.action` of the admin row that records an outage of the trail once it is over. */
export const AUDIT_STORE_RECOVERED = 'audit_store_recovered';
/** Least time between two probes while the store is failing. */
export const DEFAULT_PROBE_INTERVAL_MS = 1000;

export interface SupervisedAuditStore {
  readonly store: MonitoredAuditStore;
  /** The append health, answered at once; while failing it starts a probe (at most one per interval). */
  readiness(): AuditReadiness;
  /** Where the outage row is written (the pipeline, built on `store`, so it comes after). */
  attach(recorder: ControlPlaneRecorder): void;
}

export interface SupervisionDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly probeIntervalMs?: number;
}

export function superviseAuditStore(raw: AuditStoreAdmin, deps: SupervisionDeps): SupervisedAuditStore {
  const clock = deps.clock ?? { now: () => new Date() };
  const interval = deps.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  let probing = false;
  let lastProbe = Number.NEGATIVE_INFINITY;
  let recorder: ControlPlaneRecorder | undefined;

  /** The outage row, under custos:system; `detail.failed_appends` counts the rows the trail could not hold. */
  const record = async (outage: AppendHealth): Promise<unknown> => {
    if (!recorder) throw new Error('no recorder attached');
    return recorder.recordAdmin({
      action: AUDIT_STORE_RECOVERED,
      principal: 'custos',
      detail: { reason: outage.reason ?? 'unknown', failing_since: outage.since ?? clock.now().toISOString(), failed_appends: outage.failedAppends ?? 0 },
    });
  };
  const store = monitorAppends(raw, {
    clock,
    onRecovered: (outage, entry) => {
      if ((entry.detail as { action?: unknown } | undefined)?.action === AUDIT_STORE_RECOVERED) return; // the probe's own row records it
      deps.logger.warn({ reason: outage.reason, since: outage.since, failedAppends: outage.failedAppends }, 'audit store writes again');
      record(outage).catch(() => undefined); // if this fails, the store is failing again and a probe will write it
    },
  });

  function probe(outage: AppendHealth): void {
    const now = clock.now().getTime();
    if (probing || now - lastProbe < interval) return;
    probing = true;
    lastProbe = now;
    record(outage)
      .then(() => deps.logger.warn({ reason: outage.reason, since: outage.since }, 'audit store writes again (probe)'))
      .catch(() => undefined)
      .finally(() => {
        probing = false;
      });
  }

  return {
    store,
    attach(r) {
      recorder = r;
    },
    readiness(): AuditReadiness {
      const health = store.appendHealth();
      if (health.state === 'failing') probe(health);
      return health;
    },
  };
}
