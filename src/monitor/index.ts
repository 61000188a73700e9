/** The monitor's public surface: alert rules, kill switches, drift quarantine, the trail watch, the inventory, metrics and traces. */
export { createMonitor } from './monitor.js';
export type { Monitor, MonitorDeps, MonitorRecorder, MonitorSettings, MonitoredUpstreams } from './monitor.js';
export { createTrailWatch } from './trail-watch.js';
export type { TrailWatch, TrailWatchDeps, TrailWatchFailure, TrailWatchSettings, TrailWatchStatus, WatchScheduler } from './trail-watch.js';
export { createAlertRules } from './rules.js';
export type { AlertRules } from './rules.js';
export { MONITOR_ACTIONS, createTrailState, foldRow } from './trail-state.js';
export { readInventory, inventoryToCsv } from './inventory.js';
export { formatKillTarget, parseKillTarget } from './kill-switches.js';
export { definitionOf, diffDefinitions, hashDefinition } from './tool-definitions.js';
export { createMetrics } from './metrics.js';
export type { Metrics } from './metrics.js';
export { createCallTracer } from './tracing.js';
export type { CallTracer, TracingSettings } from './tracing.js';
export { createPipelineObserver } from './observer.js';
export { afterAnswer } from './after-answer.js';
export { MONITOR_SNAPSHOT_SCHEMA, decodeSnapshot, encodeSnapshot } from './snapshot.js';
export type { MonitorSnapshotStore, MonitorStartReport, SnapshotSeal } from './snapshot.js';
export { MONITOR_SNAPSHOT_POSTGRES_SCHEMA, createPostgresSnapshotStore, createSqliteSnapshotStore, sqliteSnapshotPath } from './snapshot-store.js';
export { ALERT_TYPES, DEFAULT_RULE_SETTINGS } from './types.js';
export type {
  AlertSink,
  AlertView,
  DefinitionDiff,
  Inventory,
  InventoryAgent,
  InventoryServer,
  InventoryTool,
  KillSwitch,
  KillTarget,
  RaisedMonitorAlert,
  RuleSettings,
  Severity,
} from './types.js';
