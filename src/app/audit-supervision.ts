/**
 * The audit store as the app runs it: append health for /readyz, an `audit_store_recovered`
 * admin row when an outage ends, and a probe that ends one when no call comes (a replica
 * taken out of the balancer gets no traffic, so only a probe can bring it back).
 */
import { randomUUID } from 'node:crypto';
import { monitorAppends } from '../audit/index.js';
import type { AppendHealth, AuditStoreAdmin, MonitoredAuditStore } from '../audit/index.js';
import type { AuditReadiness } from '../gateway/index.js';
import { AUDIT_SCHEMA } from '../kernel/index.js';
import type { AuditEntry, Clock } from '../kernel/index.js';
import type { Logger } from './logger.js';

export const SYSTEM_USER = { sub: 'custos:system', iss: 'custos' } as const;
const RECOVERED = 'audit_store_recovered';
/** Least time between two probes while the store is failing. */
export const DEFAULT_PROBE_INTERVAL_MS = 1000;

export interface SupervisedAuditStore {
  readonly store: MonitoredAuditStore;
  /** The append health, answered at once; while failing it starts a probe (at most one per interval). */
  readiness(): AuditReadiness;
}

export interface SupervisionDeps {
  readonly bundleHash: () => string;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly probeIntervalMs?: number;
}

/** The admin row that records an outage of the trail once it is over. */
function recoveredEntry(outage: AppendHealth, bundleHash: string, now: Date): AuditEntry {
  return {
    schema: AUDIT_SCHEMA,
    event: 'admin',
    time: now.toISOString(),
    request_id: randomUUID(),
    user: SYSTEM_USER,
    policy: { decision: 'allow', bundle_hash: bundleHash, determining_policies: [], reasons: [RECOVERED] },
    redactions: { count: 0, types: [] },
    detail: { action: RECOVERED, reason: outage.reason ?? 'unknown', failing_since: outage.since ?? now.toISOString(), failed_appends: outage.failedAppends ?? 0 },
  };
}

export function superviseAuditStore(raw: AuditStoreAdmin, deps: SupervisionDeps): SupervisedAuditStore {
  const clock = deps.clock ?? { now: () => new Date() };
  const interval = deps.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  let probing = false;
  let lastProbe = Number.NEGATIVE_INFINITY;

  const record = (outage: AppendHealth): Promise<unknown> => store.append(recoveredEntry(outage, deps.bundleHash(), clock.now()));
  const store = monitorAppends(raw, {
    clock,
    onRecovered: (outage, entry) => {
      if ((entry.detail as { action?: unknown } | undefined)?.action === RECOVERED) return; // the probe's own row records it
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
    readiness(): AuditReadiness {
      const health = store.appendHealth();
      if (health.state === 'failing') probe(health);
      return health;
    },
  };
}
