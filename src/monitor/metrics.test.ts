import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { AuditStore } from '../kernel/index.js';
import { createMetrics } from './metrics.js';
import type { TrailWatchStatus } from './trail-watch.js';

/** The lines of one metric family in an exposition text. */
const family = (text: string, name: string): string[] => text.split('\n').filter((line) => line.startsWith(name) || line.includes(` ${name} `));

describe('the fast histograms (stages, audit appends)', () => {
  it("scrapes the same exposition as prom-client's own histogram fed the same observations", async () => {
    const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
    const registry = new Registry();
    const reference = new Histogram({
      name: 'custos_stage_duration_seconds',
      help: 'Time per pipeline stage.',
      labelNames: ['stage'],
      buckets,
      registers: [registry],
    });
    const metrics = createMetrics();
    const observations: Array<[string, number]> = [
      ['decide', 0.00005],
      ['decide', 0.0003],
      ['decide', 0.0003],
      ['forward', 0.002],
      ['forward', 12], // past the last bucket: +Inf, sum and count only
      ['monitor', 0.001], // on a bound: counted in it (le)
    ];
    for (const [stage, seconds] of observations) {
      reference.labels(stage).observe(seconds);
      metrics.observeStage(stage, seconds);
    }
    const ours = family((await metrics.scrape()).body, 'custos_stage_duration_seconds');
    const theirs = family(await registry.metrics(), 'custos_stage_duration_seconds');
    expect(ours.length).toBe(2 + 3 * (buckets.length + 3));
    expect(ours).toEqual(theirs);
    expect(ours).toContain('custos_stage_duration_seconds_count{stage="decide"} 3');
  });
});

it("the audit append histogram (no labels) scrapes as prom-client's: zeros first, then each append, failed ones too", async () => {
  const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
  const name = 'custos_audit_append_duration_seconds';
  const registry = new Registry();
  new Histogram({ name, help: 'Audit append latency (durable).', buckets, registers: [registry] });
  const metrics = createMetrics();
  expect(family((await metrics.scrape()).body, name)).toEqual(family(await registry.metrics(), name));

  let fail = false;
  const store = metrics.instrumentStore({
    append: () => (fail ? Promise.reject(new Error('down')) : Promise.resolve({} as Awaited<ReturnType<AuditStore['append']>>)),
    read: () => (async function* () {})(),
    close: () => Promise.resolve(),
  } as AuditStore);
  await store.append({} as Parameters<AuditStore['append']>[0]);
  fail = true;
  await expect(store.append({} as Parameters<AuditStore['append']>[0])).rejects.toThrow('down');
  const body = (await metrics.scrape()).body;
  expect(body).toContain(`${name}_count 2`);
  expect(body).toContain('custos_audit_append_errors_total 1');
  expect(family(body, name).filter((l) => l.startsWith(`${name}_bucket`))).toHaveLength(buckets.length + 1);
});

it("the trail watch's verified seq and passes, read from it at scrape time; none without a watch", async () => {
  let status: TrailWatchStatus | undefined;
  const metrics = createMetrics(undefined, () => status);
  status = {
    verified: { seq: 42, hash: 'a'.repeat(64) },
    passes: { incremental_ok: 3, incremental_failed: 1, incremental_unavailable: 0, full_ok: 1, full_failed: 0, full_unavailable: 2 },
  };
  const body = (await metrics.scrape()).body;
  expect(body).toContain('custos_trail_verified_seq 42');
  expect(body).toContain('custos_trail_verifications_total{scope="incremental",outcome="ok"} 3');
  expect(body).toContain('custos_trail_verifications_total{scope="incremental",outcome="failed"} 1');
  expect(body).toContain('custos_trail_verifications_total{scope="full",outcome="unavailable"} 2');
  status = { ...status, verified: { seq: 50, hash: 'b'.repeat(64) } };
  expect((await metrics.scrape()).body).toContain('custos_trail_verified_seq 50');
  expect((await createMetrics().scrape()).body).not.toContain('custos_trail_');
});
