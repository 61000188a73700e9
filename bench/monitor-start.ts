/**
 * `npm run bench -- monitor-start`: how long the monitor takes to start on a large trail, from
 * a full read of the trail against from its start-up snapshot (issue 13). The trail: BENCH_ROWS
 * generated rows (default 100 000, bench/trail.ts) in SQLite; a monitor folds them and saves its
 * snapshot at close; then BENCH_TAIL more rows (default 1 000) are appended, so a start from the
 * snapshot reads those. Then BENCH_RUNS (default 5) starts of each kind, interleaved (full read,
 * snapshot, full read, …): wall time, CPU time of this process (every thread: the store's reads
 * included) and the trail rows read, median and (min–max). The snapshots' store is read-only
 * during the runs, so every run starts from the same snapshot. Measures; never fails.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAuditStore } from '../src/audit/index.js';
import type { AuditStore } from '../src/kernel/index.js';
import { createMonitor, createSqliteSnapshotStore, sqliteSnapshotPath } from '../src/monitor/index.js';
import type { MonitorSnapshotStore } from '../src/monitor/index.js';
import { formatSpread, spread } from './stats.js';
import { generateTrail } from './trail.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const TAIL = Number(process.env.BENCH_TAIL ?? 1000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface StartResult {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly rowsRead: number;
  readonly snapshot: string;
}

/** One monitor start on the trail (with or without the snapshots' store); closed without saving. */
async function startOnce(file: string, snapshots: MonitorSnapshotStore | undefined): Promise<StartResult> {
  const store = await createAuditStore(`sqlite:${file}`);
  let rowsRead = 0;
  const counted: Pick<AuditStore, 'read'> = {
    async *read(options) {
      for await (const r of store.read(options)) {
        rowsRead++;
        yield r;
      }
    },
  };
  const monitor = createMonitor({ store: counted, clock: { now: () => new Date() }, ids: { newId: () => 'id' }, logger: silent, snapshots });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await monitor.start();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const snapshot = monitor.startReport()?.snapshot ?? 'off';
  await monitor.close();
  await store.close();
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, rowsRead, snapshot };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-monitor-'));
  const file = path.join(dir, 'trail.db');
  try {
    const loadBefore = os.loadavg();
    console.log(`monitor-start benchmark: ${ROWS.toLocaleString('en-US')} rows + a ${TAIL.toLocaleString('en-US')}-row tail, ${RUNS} runs of each`);
    console.log(`generated the trail in ${(await generateTrail(file, ROWS)).toFixed(1)} s`);
    // The snapshot: a monitor that folds the whole trail saves it at close.
    const writer = createSqliteSnapshotStore(sqliteSnapshotPath(file));
    const first = await startOnce(file, writer);
    await writer.close();
    const size = statSync(sqliteSnapshotPath(file)).size;
    console.log(
      `first start (no snapshot yet: ${first.snapshot}) ${first.wallMs.toFixed(0)} ms; snapshot saved at close, file ${(size / 1024).toFixed(0)} KiB`,
    );
    await generateTrail(file, TAIL);
    const reader = createSqliteSnapshotStore(sqliteSnapshotPath(file));
    const readOnly: MonitorSnapshotStore = { load: () => reader.load(), save: async () => undefined, close: async () => undefined };
    const full: StartResult[] = [];
    const snap: StartResult[] = [];
    for (let r = 0; r < RUNS; r++) {
      full.push(await startOnce(file, undefined));
      snap.push(await startOnce(file, readOnly));
    }
    await reader.close();
    if (snap.some((s) => s.snapshot !== 'used')) throw new Error(`a start did not use the snapshot: ${snap.map((s) => s.snapshot).join(', ')}`);
    const row = (label: string, rs: StartResult[]): string =>
      `| ${label} | ${formatSpread(
        rs.map((x) => x.wallMs),
        0,
      )} | ${formatSpread(
        rs.map((x) => x.cpuMs),
        0,
      )} | ${rs[0]!.rowsRead.toLocaleString('en-US')} |`;
    const loadAfter = os.loadavg();
    console.log(
      `\nload average (1/5/15 min) ${loadBefore.map((v) => v.toFixed(1)).join(' / ')} before, ${loadAfter.map((v) => v.toFixed(1)).join(' / ')} after; Node ${process.versions.node}\n`,
    );
    console.log('| start | wall ms | CPU ms | trail rows read |');
    console.log('|---|---|---|---|');
    console.log(row('full read (no snapshot)', full));
    console.log(row('from the snapshot', snap));
    const median = (xs: number[]): number => spread(xs).median;
    console.log(
      `\nfrom the snapshot ÷ full read: wall ${(median(snap.map((s) => s.wallMs)) / median(full.map((s) => s.wallMs))).toFixed(3)}, CPU ${(median(snap.map((s) => s.cpuMs)) / median(full.map((s) => s.cpuMs))).toFixed(3)} (medians)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
