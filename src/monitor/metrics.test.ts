import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

/** The lines of one metric family in an exposition text. */
const family = (text: string, name: string): string[] => text.split('\n').filter((line) => line.startsWith(name) || line.includes(` ${name} `));

describe('the stage histogram', () => {
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
