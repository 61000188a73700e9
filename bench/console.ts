/**
 * `npm run bench -- console`: the audit explorer on a large trail, in Debian's Chromium.
 *   1. time to first render of the audit explorer (navigation to its heading and search form
 *      drawn, signed in), median of BENCH_RUNS;
 *   2. a search's latency through the console (filters typed, Search clicked, the result table
 *      drawn), p50/p95 over BENCH_SEARCHES searches on varied filters, and the same searches on
 *      GET /v1/audit alone.
 * The trail: BENCH_ROWS rows (default 1 000 000), 500 users, 40 agents, 60 tools, a tenth denied,
 * chained as the store chains them (`chainRecord`) and inserted in batches of 10 000 rows per
 * transaction into the SQLite file the store made (the store port's one-row appends would take
 * most of an hour on a loaded machine); the store then reads and verifies its head. The search
 * index is built before Custos starts (its time is reported), as a running Custos would have it.
 * Measures; never fails.
 */
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAuditStore, createSearchIndex, createSqliteSearchIndex, sqliteSearchIndexPath } from '../src/audit/index.js';
import { generateTrail } from './trail.js';
import { startHarness } from '../test/e2e/harness.js';
import { launchChromium, signInConsole } from '../test/e2e/console-browser.js';
import { summarize } from './stats.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 20);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Indexes the whole trail; seconds and CPU seconds. */
async function buildIndex(file: string): Promise<{ wall: number; cpu: number }> {
  const store = await createAuditStore(`sqlite:${file}`);
  const index = createSearchIndex(store, createSqliteSearchIndex(sqliteSearchIndexPath(file)), { batchRows: 2000 });
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  await index.catchUp();
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - started) / 1000;
  await index.close();
  await store.close();
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

export async function run(): Promise<void> {
  const dir = path.join(os.tmpdir(), `custos-bench-console-${process.pid}`);
  const file = path.join(dir, 'trail.sqlite');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(
    `console benchmark: ${fmt(ROWS)} rows; load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${os.cpus().length} cores`,
  );
  console.log(`generated the trail in ${(await generateTrail(file, ROWS)).toFixed(1)} s`);
  const indexed = await buildIndex(file);
  console.log(`indexed it in ${indexed.wall.toFixed(1)} s (${indexed.cpu.toFixed(1)} CPU s in this process; ${fmt(ROWS / indexed.wall)} rows/s)`);
  const h = await startHarness({
    configure: (raw) => ({ ...raw, audit: { ...raw.audit, store: `sqlite:${file}`, search: { roles: ['auditor', 'security', 'custos-admin'] } } }),
  });
  const browser = await launchChromium();
  try {
    const s = await signInConsole(browser, h.custos.url, h.issuer, 'audrey');
    const renders: number[] = [];
    for (let r = 0; r < RUNS; r += 1) {
      await s.page.goto('about:blank');
      const t0 = performance.now();
      await s.page.goto(`${h.custos.url}/console/#/audit`);
      await s.page.getByRole('button', { name: 'Search' }).waitFor();
      renders.push(performance.now() - t0);
    }
    const render = summarize(renders);
    console.log(`1. first render of the audit explorer: median ${render.p50.toFixed(0)} ms (runs ${renders.map((x) => x.toFixed(0)).join(', ')})`);

    const filters: Array<Record<string, string>> = Array.from({ length: SEARCHES }, (_, k) => {
      const options: Array<Record<string, string>> = [
        { user: `user${(k * 37) % 500}` },
        { tool: `tool_${k % 60}`, data_class: 'phi' },
        { agent: `agent-${k % 40}` },
        { data_class: 'phi', user: `user${k}` },
      ];
      return options[k % 4]!;
    });
    const ui: number[] = [];
    const apiOnly: number[] = [];
    const token = await h.token('audrey');
    for (const f of filters) {
      await s.page.goto(`${h.custos.url}/console/#/audit`);
      await s.page.reload();
      for (const [k, v] of Object.entries(f)) await s.page.getByLabel(k.replace('_', ' '), { exact: true }).fill(v);
      const t0 = performance.now();
      await s.page.getByRole('button', { name: 'Search' }).click();
      await s.page.getByTestId('result-count').waitFor();
      ui.push(performance.now() - t0);
      const q = new URLSearchParams({ ...f, limit: '100' });
      const a0 = performance.now();
      const res = await fetch(`${h.custos.url}/v1/audit?${q.toString()}`, { headers: { authorization: `Bearer ${token}` } });
      await res.json();
      apiOnly.push(performance.now() - a0);
    }
    const p95 = (xs: readonly number[]): number => [...xs].sort((x, y) => x - y)[Math.max(0, Math.ceil(0.95 * xs.length) - 1)]!;
    console.log(`2. a search (${SEARCHES} searches on varied filters; through the search index; a page is 100 matches):`);
    console.log(`   through the console  p50 ${summarize(ui).p50.toFixed(0)} ms  p95 ${p95(ui).toFixed(0)} ms`);
    console.log(`   GET /v1/audit alone  p50 ${summarize(apiOnly).p50.toFixed(0)} ms  p95 ${p95(apiOnly).toFixed(0)} ms`);
    await s.context.close();
  } finally {
    await browser.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
