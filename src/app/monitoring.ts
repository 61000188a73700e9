/**
 * The monitor as the app wires it from `monitor` in the config: the rules and guards over the
 * pipeline, the alert sinks (export's sinks), metrics on the audit store and the pipeline,
 * traces when an OTLP endpoint is set. Disabled: nothing of it (the pipeline runs bare).
 */
import { randomUUID, verify } from 'node:crypto';
import type { ResolvedConfig } from '../config/index.js';
import type { KeyRegistry } from '../keys/index.js';
import { createSink } from '../export/index.js';
import type {
  AuditMonitor,
  AuditRecord,
  AuditStore,
  CallGuard,
  Logger,
  Pipeline,
  PipelineObserver,
  RateCounter,
  UpstreamPool,
  UpstreamStatus,
} from '../kernel/index.js';
import { parseSqliteLocation } from '../audit/index.js';
import type { AuditStoreAdmin, DirectTrail } from '../audit/index.js';
import {
  afterAnswer,
  createCallTracer,
  createMetrics,
  createMonitor,
  createPipelineObserver,
  createPostgresSnapshotStore,
  createSqliteSnapshotStore,
  createTrailWatch,
  sqliteSnapshotPath,
} from '../monitor/index.js';
import type { Monitor, MonitorSnapshotStore, SnapshotSeal } from '../monitor/index.js';
import type { MonitorAdminPort } from '../gateway/index.js';
import { manifestSignerOf } from './evidence-sources.js';
import { toSinkSettings } from './export-sinks.js';

export interface Monitoring {
  readonly monitor?: Monitor;
  /** The pipeline's parts: the monitor hook, the guards, the stage observer. */
  readonly hook?: AuditMonitor;
  readonly guard?: CallGuard;
  readonly observer?: PipelineObserver;
  /** The store the pipeline appends to (timed for the metrics). */
  instrument(store: AuditStore): AuditStore;
  /** Once the pipeline exists. */
  attach(pipeline: Pipeline): void;
  /** Once the upstreams are connected. */
  start(upstreams: UpstreamPool): Promise<void>;
  readonly admin?: MonitorAdminPort;
  close(): Promise<void>;
}

/**
 * Where the monitor's start-up snapshot is kept: beside the trail (a file beside an SQLite trail,
 * a table beside a PostgreSQL one). None for an in-memory trail, nor for a trail encrypted at
 * rest (the snapshot would keep users and tools in the clear).
 */
function snapshotStoreFor(config: ResolvedConfig): MonitorSnapshotStore | undefined {
  const trail = plainTrailOf(config);
  if (trail && 'postgresUrl' in trail) return createPostgresSnapshotStore(trail.postgresUrl);
  return trail && createSqliteSnapshotStore(sqliteSnapshotPath(trail.sqliteFile));
}

/** The trail's location when its rows are stored in the clear (not encrypted at rest, not in memory): the snapshot is kept beside it, the trail watch's thread reads it itself. */
function plainTrailOf(config: ResolvedConfig): DirectTrail | undefined {
  const uri = config.audit.store;
  if (config.audit.encryption) return undefined;
  if (/^postgres(ql)?:\/\//i.test(uri)) return { postgresUrl: uri };
  if (!/^sqlite:/i.test(uri)) return undefined;
  const location = parseSqliteLocation(uri);
  return location === ':memory:' ? undefined : { sqliteFile: location };
}

/** The start-up snapshot's seal: the checkpoint signing key (as the evidence manifest's), or none when no key is configured. */
function snapshotSealOf(config: ResolvedConfig, keys: Pick<KeyRegistry, 'signingKey'>): SnapshotSeal | undefined {
  const signer = manifestSignerOf(config, keys);
  return signer && { keyId: signer.keyId, sign: signer.sign, verify: (data, signature) => verify(null, data, signer.publicKey, signature) };
}

const OFF: Monitoring = { instrument: (s) => s, attach: () => undefined, start: async () => undefined, close: async () => undefined };

export function createMonitoring(
  config: ResolvedConfig,
  deps: {
    readonly store: Pick<AuditStoreAdmin, 'read' | 'readRaw'>;
    readonly logger: Logger;
    readonly counter: Pick<RateCounter, 'take'>;
    /** The checkpoint signing key, when configured: it signs the start-up snapshot, and a start takes only one it signed. */
    readonly keys?: Pick<KeyRegistry, 'signingKey'>;
  },
): Monitoring {
  const m = config.monitor;
  if (!m.enabled) return OFF;
  let pool: UpstreamPool | undefined;
  const upstreamStatus = (): readonly UpstreamStatus[] => pool?.status() ?? [];
  const metrics = m.metrics.enabled ? createMetrics(upstreamStatus, () => watch.status()) : undefined;
  const tracer = m.tracing.endpoint
    ? createCallTracer({ endpoint: m.tracing.endpoint, headers: m.tracing.headers, serviceName: m.tracing.serviceName })
    : undefined;
  const { windowSec, cooldownSec, ...rules } = m.rules;
  const monitor = createMonitor({
    store: deps.store,
    clock: { now: () => new Date() },
    ids: { newId: randomUUID },
    logger: deps.logger,
    sinks: m.alerts.sinks.map((s) => createSink(toSinkSettings(s))),
    counter: deps.counter,
    snapshots: snapshotStoreFor(config),
    snapshotSeal: deps.keys && snapshotSealOf(config, deps.keys),
    settings: {
      syncMs: m.syncMs,
      alertOnly: m.drift.alertOnly,
      snapshotEveryRows: m.snapshotEveryRows,
      rules: { ...rules, windowMs: windowSec * 1000, cooldownMs: cooldownSec * 1000 },
    },
  });
  // The server verifies its own trail on a timer; a failure is the monitor's alert.
  const direct = plainTrailOf(config);
  const watch = createTrailWatch({
    store: deps.store,
    ...(direct ? { direct } : {}),
    settings: { everyMs: m.trailWatch.everySec * 1000, fullEveryMs: m.trailWatch.fullEverySec * 1000 },
    clock: { now: () => new Date() },
    logger: deps.logger,
    onFailure: (failure) => monitor.chainVerificationFailed({ ...failure }),
  });
  const hook: AuditMonitor = (record: AuditRecord) => {
    if (record.control_test) return; // a live control test's rows are evidence: no metric, no alert rule
    if (metrics) afterAnswer(() => metrics.observeRow(record)); // counted after the answer is written
    monitor.hook(record);
  };
  return {
    monitor,
    hook,
    guard: monitor.guard,
    observer: createPipelineObserver({ metrics, tracer }),
    instrument: (store) => metrics?.instrumentStore(store) ?? store,
    attach: (pipeline) => monitor.attach(pipeline),
    async start(upstreams) {
      pool = upstreams;
      await monitor.start(upstreams);
      watch.start(); // its first pass a few seconds later, in the background
    },
    admin: {
      roles: config.identity.admin.roles,
      // The console's roles: all of them read; security acknowledges alerts (issue 17).
      readRoles: config.console.enabled ? Object.values(config.console.roles).flat() : [],
      ackRoles: config.console.enabled ? config.console.roles.security : [],
      alerts: (o) => monitor.alerts(o),
      acknowledge: (p, seq, note) => monitor.acknowledge(p, seq, note),
      inventory: () => monitor.inventory(),
      approveTool: (p, server, tool) => monitor.approveTool(p, server, tool),
      kills: () => monitor.kills(),
      setKill: (p, target, reason) => monitor.setKill(p, target, reason),
      liftKill: (p, id, reason) => monitor.liftKill(p, id, reason),
      ...(metrics ? { scrape: () => metrics.scrape() } : {}),
    },
    async close() {
      await watch.close();
      await monitor.close();
      await tracer?.close();
    },
  };
}
