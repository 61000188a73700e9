/**
 * Prometheus metrics (prom-client) on their own registry, served at `GET /metrics`:
 * decisions by outcome, tier and tool; per-stage latency; redactions by type; audit append
 * latency and errors; alerts; upstream status; the trail watch's verified seq and passes. Counters
 * are fed from the durable rows (the monitor hook), latencies from the pipeline observer and the
 * audit store wrapper, the watch's figures read from it at scrape time.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Metric } from 'prom-client';
import type { AuditRecord, AuditStore, UpstreamStatus } from '../kernel/index.js';
import type { TrailWatchStatus } from './trail-watch.js';

export interface Metrics {
  /** Counts what a durable row shows (decisions, redactions, alerts). */
  observeRow(record: AuditRecord): void;
  /** One pipeline stage took `seconds`. */
  observeStage(stage: string, seconds: number): void;
  /** The store, with every append timed (latency, errors). */
  instrumentStore(store: AuditStore): AuditStore;
  /** The exposition text and its content type. */
  scrape(): Promise<{ readonly contentType: string; readonly body: string }>;
}

const STAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
const DECISION_EVENTS: Readonly<Record<string, string>> = { intent: 'allow', deny: 'deny', confirm: 'confirm' };

/** `upstreams` answers the upstream status at scrape time (none before the pool exists); `trail` the trail watch's (none: no trail metrics). */
export function createMetrics(upstreams: () => readonly UpstreamStatus[] = () => [], trail?: () => TrailWatchStatus | undefined): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const decisions = new Counter({ name: 'custos_decisions_total', help: 'Decisions on governed calls.', labelNames: ['outcome', 'tier', 'tool'], registers });
  const stages = createFastHistogram(registry, 'custos_stage_duration_seconds', 'Time per pipeline stage.', 'stage');
  const redactions = new Counter({ name: 'custos_redactions_total', help: 'Values redacted, by type.', labelNames: ['type'], registers });
  const appendSeconds = createFastHistogram(registry, 'custos_audit_append_duration_seconds', 'Audit append latency (durable).');
  const appendErrors = new Counter({ name: 'custos_audit_append_errors_total', help: 'Audit appends that failed.', registers });
  const alerts = new Counter({ name: 'custos_alerts_total', help: 'Alert rows written.', labelNames: ['type', 'severity'], registers });
  new Gauge({
    name: 'custos_upstream_up',
    help: 'Upstream MCP server state: 1 ready, 0 otherwise.',
    labelNames: ['upstream', 'state'],
    registers,
    collect() {
      this.reset();
      for (const s of upstreams()) this.set({ upstream: s.name, state: s.state }, s.state === 'ready' ? 1 : 0);
    },
  });

  if (trail) registerTrailWatch(registers, trail);

  // Label children bound once per label set.
  const decisionOf = bound((key: string) => decisions.labels(...key.split('\0')));

  function countRedactions(r: AuditRecord): void {
    const { count, types, rules } = r.redactions;
    if (count === 0) return;
    if (rules?.length) for (const rule of rules) redactions.inc({ type: rule.type }, rule.count);
    else if (types.length === 1) redactions.inc({ type: types[0] }, count);
    else for (const type of types) redactions.inc({ type });
  }

  return {
    observeRow(r) {
      const outcome = DECISION_EVENTS[r.event];
      if (outcome) decisionOf(`${outcome}\0${r.agent?.tier ?? 'none'}\0${r.tool ? `${r.tool.server}/${r.tool.name}` : 'none'}`).inc();
      if (r.event === 'alert' && r.alert) alerts.inc({ type: r.alert.type, severity: r.alert.severity });
      countRedactions(r);
    },
    observeStage: stages.observe,
    instrumentStore(store) {
      const append: AuditStore['append'] = async (entry, options) => {
        const start = performance.now();
        try {
          return await store.append(entry, options);
        } catch (err) {
          appendErrors.inc();
          throw err;
        } finally {
          appendSeconds.observe('', (performance.now() - start) / 1000);
        }
      };
      return { append, read: (options) => store.read(options), close: () => store.close() };
    },
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/** `custos_trail_verified_seq`, `custos_trail_verifications_total{scope,outcome}` and `custos_trail_rows_checked_total{on}`, read from the watch at scrape time. */
function registerTrailWatch(registers: Registry[], trail: () => TrailWatchStatus | undefined): void {
  new Gauge({
    name: 'custos_trail_verified_seq',
    help: 'The last audit trail row the trail watch verified (it stays put while the chain does not verify).',
    registers,
    collect() {
      this.set(trail()?.verified?.seq ?? 0);
    },
  });
  new Counter({
    name: 'custos_trail_verifications_total',
    help: 'Trail watch passes, by scope (incremental, full) and outcome (ok, failed, unavailable: the trail could not be read).',
    labelNames: ['scope', 'outcome'],
    registers,
    collect() {
      const passes = trail()?.passes;
      if (!passes) return;
      this.reset();
      for (const [key, n] of Object.entries(passes)) {
        const [scope, outcome] = key.split('_') as [string, string];
        this.inc({ scope, outcome }, n);
      }
    },
  });
  new Counter({
    name: 'custos_trail_rows_checked_total',
    help: 'Rows the trail watch verified, by where: read and checked on its worker thread (thread), read on the main thread and checked on the worker (handed: an encrypted trail), stepped on the main thread (main: chunks the worker did not show clean, the head a full pass must reach).',
    labelNames: ['on'],
    registers,
    collect() {
      const checked = trail()?.checked;
      if (!checked) return;
      this.reset();
      this.inc({ on: 'thread' }, checked.rowsOffThread);
      this.inc({ on: 'handed' }, checked.rowsHanded);
      this.inc({ on: 'main' }, checked.rowsHere);
    },
  });
}

/** `make(key)` once per key, then the same child (label sets are few: stages, outcomes × tiers × tools). */
function bound<T>(make: (key: string) => T): (key: string) => T {
  const children = new Map<string, T>();
  return (key) => {
    let child = children.get(key);
    if (child === undefined) {
      child = make(key);
      children.set(key, child);
    }
    return child;
  };
}

/**
 * A histogram (by one label, or none) whose observation is an array update: prom-client's
 * `observe` validates and hashes the labels each time, bound child or not, and a call makes
 * about a dozen (its stages, its two appends). prom-client's registry formats it at scrape time
 * like one of its own histograms: the same series, names and labels (`_bucket{le,…}`
 * cumulative, `_sum`, `_count`; an unlabelled one shows zeros before its first observation).
 */
function createFastHistogram(registry: Registry, name: string, help: string, labelName?: string): { observe(label: string, seconds: number): void } {
  type Series = { readonly counts: number[]; sum: number; count: number };
  const series = new Map<string, Series>();
  const fresh = (): Series => ({ counts: STAGE_BUCKETS.map(() => 0), sum: 0, count: 0 });
  if (labelName === undefined) series.set('', fresh());
  type Value = { labels: Record<string, string | number>; value: number; metricName: string };
  const values = (): Value[] =>
    [...series].flatMap(([label, s]): Value[] => {
      const labels = labelName === undefined ? {} : { [labelName]: label };
      let cumulative = 0;
      const buckets = STAGE_BUCKETS.map((le, i) => ({ labels: { le, ...labels }, value: (cumulative += s.counts[i]!), metricName: `${name}_bucket` }));
      return [
        ...buckets,
        { labels: { le: '+Inf', ...labels }, value: s.count, metricName: `${name}_bucket` },
        { labels, value: s.sum, metricName: `${name}_sum` },
        { labels, value: s.count, metricName: `${name}_count` },
      ];
    });
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: () => Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values: values() }),
    reset: () => {
      series.clear();
      if (labelName === undefined) series.set('', fresh());
    },
  };
  registry.registerMetric(metric as unknown as Metric);
  return {
    observe(label, seconds) {
      if (!Number.isFinite(seconds)) return;
      let s = series.get(label);
      if (!s) {
        s = fresh();
        series.set(label, s);
      }
      const i = STAGE_BUCKETS.findIndex((le) => seconds <= le);
      if (i >= 0) s.counts[i]! += 1;
      s.sum += seconds;
      s.count += 1;
    },
  };
}
