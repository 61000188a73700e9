/**
 * `npm run bench -- audit`: the audit trail's figures in one run.
 *   1. durable rows/s and rows per CPU-second: SQLite and PostgreSQL, one appender (each row its
 *      own commit) and many at once (group commit, rows per commit shown for SQLite);
 *   2. offline verification rows/s and rows per CPU-second: the verifier on this thread and on
 *      worker threads, against the previous verifier's work (parse twice, canonicalise twice),
 *      same export, interleaved;
 *   3. inclusion proofs/s: one proof from the store, many from one read (proveMany), and
 *      checking a proof offline;
 *   4. sink throughput per protocol, each against a local receiver (rsyslogd for syslog).
 * Sizes: BENCH_N (appends, default 2000), BENCH_VERIFY_N (rows verified, default 100000),
 * BENCH_SINK_N (rows per sink, default 2000). BENCH_AUDIT_PARTS=verification (comma-separated:
 * durable, verification, proofs, sinks) runs only those parts; BENCH_BASELINE_ROOT=DIR (a built
 * checkout) adds that build's verifyExport on one thread to part 2, interleaved. Benchmarks
 * measure; they never fail.
 */
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  LeafTree,
  createAuditStore,
  hashRowLeaf,
  loadVerifyKeys,
  proveInclusion,
  proveMany,
  verifyExport,
  verifyExportFile,
  verifyProof,
} from '../src/audit/index.js';
import type { AuditStoreAdmin, ExportReport } from '../src/audit/index.js';
import type { SqliteAuditStore } from '../src/audit/sqlite-store.js';
import { computeRecordHash } from '../src/audit/chain-hash.js';
import { createMemoryAudit, makeEntry, makeSignedTrail, makeTempDir } from '../src/audit/index.test-support.js';
import { createFileCursorStore, createSink, createSinkRunner } from '../src/export/index.js';
import type { SinkSettings } from '../src/export/index.js';
import {
  S3_TEST_ACCOUNT,
  reservePort,
  startHecReceiver,
  startOtlpReceiver,
  startRsyslog,
  startSyslogReceiver,
  startTestS3,
  startWebhookReceiver,
} from '../src/export/index.test-support.js';
import type { Receiver } from '../src/export/index.test-support.js';
import { AUDIT_SCHEMA, GENESIS_HASH, canonicalize } from '../src/kernel/index.js';
import type { AuditEntry, AuditRecord } from '../src/kernel/index.js';
import { startPostgres } from '../test/e2e/postgres.js';
import { threadCpuMeter } from './cpu.js';
import { summarize } from './stats.js';

const N = Number(process.env.BENCH_N ?? 2000);
const VERIFY_N = Number(process.env.BENCH_VERIFY_N ?? 100_000);
const SINK_N = Number(process.env.BENCH_SINK_N ?? 2000);
/** Runs of each verifier (interleaved) and the thread counts of verifyExportFile measured. */
const VERIFY_RUNS = Number(process.env.BENCH_VERIFY_RUNS ?? 3);
const VERIFY_THREADS = (process.env.BENCH_VERIFY_THREADS ?? '1,2,3').split(',').map(Number);
const WRITERS = [64, 256];

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Run {
  wall: number;
  cpu: number;
}

interface Durable {
  rowsPerSec: number;
  /** Rows per CPU-second of this process (main and writer threads): the work, whatever the load. */
  rowsPerCpuSec: number;
  /** The main thread's part of that CPU (the rest: the writer thread, libuv, V8's helpers). */
  mainShare: number;
  p50: number;
  p99: number;
}

async function appendAll(store: AuditStoreAdmin, n: number, writers: number): Promise<Durable> {
  const latencies: number[] = [];
  let next = 1;
  const cpu = threadCpuMeter();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next <= n) {
        const i = next++;
        const t0 = performance.now();
        await store.append(makeEntry(i));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const { totalMs: cpuMs, mainMs } = cpu.stop();
  const s = summarize(latencies);
  return { rowsPerSec: n / seconds, rowsPerCpuSec: n / (cpuMs / 1000), mainShare: mainMs / cpuMs, p50: s.p50, p99: s.p99 };
}

async function durable(): Promise<void> {
  console.log(`\n1. durable appends (row on disk when append resolves), ${fmt(N)} rows for one appender, ${fmt(N * 5)} for ${WRITERS.join(' and ')} at once`);
  console.log('store       appenders   rows/s  rows/CPU-s  main thread   p50 ms   p99 ms  rows/commit');
  const dir = makeTempDir();
  const line = (name: string, w: number, r: Durable, perCommit = '') =>
    console.log(
      `${name.padEnd(11)} ${String(w).padStart(9)} ${fmt(r.rowsPerSec).padStart(8)} ${fmt(r.rowsPerCpuSec).padStart(11)} ${`${Math.round(100 * r.mainShare)} %`.padStart(12)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${perCommit.padStart(12)}`,
    );
  for (const w of [1, ...WRITERS]) {
    const store = (await createAuditStore(`sqlite:${path.join(dir.path, `w${w}.sqlite`)}`, { busyTimeoutMs: 60_000 })) as SqliteAuditStore;
    const result = await appendAll(store, w === 1 ? N : N * 5, w);
    const stats = await store.stats();
    line('sqlite', w, result, (stats.rows / stats.commits).toFixed(1));
    await store.close();
  }
  const pg = await startPostgres();
  try {
    for (const w of [1, ...WRITERS]) {
      const store = await createAuditStore(pg.url, { busyTimeoutMs: 60_000 });
      line('postgresql', w, await appendAll(store, w === 1 ? N : N * 5, w));
      await store.close();
    }
  } finally {
    await pg.stop();
    dir.remove();
  }
  console.log(
    '(both group-commit: every append queued while a commit runs goes into the next transaction; rows/CPU-s counts this process only, not the server)',
  );
}

/** The previous verifier's work per row: parse, canonicalise to hash, canonicalise to compare; then parse again for the tree. */
function verifyAsBefore(lines: readonly string[]): number {
  let prev = GENESIS_HASH;
  for (const line of lines) {
    const parsed = JSON.parse(line) as AuditRecord;
    if (parsed.schema !== AUDIT_SCHEMA || parsed.prev_hash !== prev || computeRecordHash(parsed) !== parsed.hash) throw new Error('broken');
    if (canonicalize(parsed) !== line) throw new Error('non canonical');
    prev = parsed.hash;
  }
  const records = lines.map((l) => JSON.parse(l) as AuditRecord);
  return new LeafTree(records.map((r) => hashRowLeaf(r.hash))).size;
}

async function verification(): Promise<void> {
  const dir = makeTempDir();
  const file = path.join(dir.path, 'export.jsonl');
  let publicPem: string;
  {
    // The trail is written and dropped: the file verifiers run in a process that holds no copy of it (as the CLI does).
    const trail = makeSignedTrail(VERIFY_N);
    publicPem = trail.publicPem;
    writeFileSync(file, trail.lines.map((l) => `${l}\n`).join(''));
  }
  const keys = loadVerifyKeys([publicPem]);
  const bytes = statSync(file).size;
  console.log(
    `\n2. offline verification of an export: ${fmt(VERIFY_N)} rows (${(bytes / 1e6).toFixed(1)} MB), a signed checkpoint every 1000; ${VERIFY_RUNS} runs each, interleaved`,
  );
  // On a loaded machine wall time measures the load; CPU time (this process, all threads) measures the work.
  const measure = async (fn: () => Promise<ExportReport> | number): Promise<Run> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const report = await fn();
    const c = process.cpuUsage(c0);
    if (typeof report !== 'number' && (!report.ok || report.checkpoints !== Math.floor(VERIFY_N / 1000))) throw new Error('the bench trail did not verify');
    return { wall: VERIFY_N / ((performance.now() - t0) / 1000), cpu: VERIFY_N / ((c.user + c.system) / 1e6) };
  };
  // Opt-in (BENCH_BASELINE_ROOT=DIR, another built checkout, e.g. main's): that build's verifyExport on this thread, interleaved.
  const baseRoot = process.env.BENCH_BASELINE_ROOT;
  const base = baseRoot
    ? ((await import(pathToFileURL(path.join(path.resolve(baseRoot), 'dist', 'audit', 'index.js')).href)) as {
        verifyExport: typeof verifyExport;
        loadVerifyKeys: typeof loadVerifyKeys;
      })
    : undefined;
  const run = async (variants: Array<[string, () => Promise<ExportReport> | number]>): Promise<void> => {
    const runs = variants.map((): Run[] => []);
    for (let r = 0; r < VERIFY_RUNS; r += 1) for (const [i, [, fn]] of variants.entries()) runs[i]!.push(await measure(fn));
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    for (const [i, [label]] of variants.entries()) {
      const rs = runs[i]!;
      console.log(
        `${label.padEnd(56)} ${fmt(median(rs.map((x) => x.wall))).padStart(8)} rows/s wall  ${fmt(median(rs.map((x) => x.cpu))).padStart(8)} rows per CPU-second  (wall runs ${rs.map((x) => fmt(x.wall)).join(', ')})`,
      );
    }
  };
  console.log(
    `the export file, as \`custos audit verify --export\` reads it (load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  );
  await run([
    ...(base
      ? [
          [
            "baseline build: verifyExport(the file's lines), threads: 1",
            () => base.verifyExport(streamLines(file), { keys: base.loadVerifyKeys([publicPem]), threads: 1 }),
          ] as [string, () => Promise<ExportReport>],
        ]
      : []),
    ...VERIFY_THREADS.map((t): [string, () => Promise<ExportReport>] => [
      t === 1 ? 'verifyExportFile, threads: 1' : `verifyExportFile, threads: ${t} (this thread and ${t - 1} workers)`,
      () => verifyExportFile(file, { keys, threads: t }),
    ]),
  ]);
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  console.log(
    `lines held in memory (load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})`,
  );
  await run([
    ...(process.env.BENCH_VERIFY_BEFORE === '1' ? [['previous work (parse ×2, canonicalise ×2)', () => verifyAsBefore(lines)] as [string, () => number]] : []),
    ...(base
      ? [
          ['baseline build: verifyExport(lines), threads: 1', () => base.verifyExport(lines, { keys: base.loadVerifyKeys([publicPem]), threads: 1 })] as [
            string,
            () => Promise<ExportReport>,
          ],
        ]
      : []),
    ['verifyExport(lines), threads: 1', () => verifyExport(lines, { keys, threads: 1 })],
    ['verifyExport(lines), threads: 2', () => verifyExport(lines, { keys, threads: 2 })],
  ]);
  dir.remove();
}

/** The lines of a file as the CLI read them before verifyExportFile: a stream, split by the line reader. */
async function* streamLines(file: string): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) if (line.length > 0) yield line;
}

async function proofs(): Promise<void> {
  const dir = makeTempDir();
  const n = 10_000;
  const { lines, publicPem } = makeSignedTrail(n);
  const store = await createAuditStore(`sqlite:${path.join(dir.path, 'proofs.sqlite')}`, { busyTimeoutMs: 60_000 });
  const appends: Array<Promise<unknown>> = [];
  for (const line of lines) {
    const { seq: _s, prev_hash: _p, hash: _h, ...entry } = JSON.parse(line) as AuditRecord;
    appends.push(store.append(entry as AuditEntry));
    if (appends.length >= 256) await Promise.all(appends.splice(0));
  }
  await Promise.all(appends);
  await store.append(makeEntry(n + 1));
  const keys = loadVerifyKeys([publicPem]);
  const samples: number[] = [];
  const made = [];
  for (let i = 0; i < 20; i += 1) {
    const t0 = performance.now();
    const result = await proveInclusion(store, 1 + ((i * 4973) % (n - 1000)));
    samples.push(performance.now() - t0);
    if (!result.ok) throw new Error('no proof');
    made.push(result.proof);
  }
  const many = Array.from({ length: 2000 }, (_, i) => 1 + ((i * 4973) % (n - 1000)));
  const c0 = process.cpuUsage();
  const m0 = performance.now();
  const batch = await proveMany(store, many);
  const manySeconds = (performance.now() - m0) / 1000;
  const manyCpu = process.cpuUsage(c0);
  if (![...batch.values()].every((r) => r.ok)) throw new Error('no proof');
  const t0 = performance.now();
  let checked = 0;
  for (let i = 0; i < 5000; i += 1) checked += verifyProof(made[i % made.length], keys).ok ? 1 : 0;
  const verifyPerSec = checked / ((performance.now() - t0) / 1000);
  const s = summarize(samples);
  console.log(`\n3. inclusion proofs over a ${fmt(n)}-row SQLite trail`);
  console.log(
    `proveInclusion (reads the trail up to the latest checkpoint): ${fmt(1000 / s.mean)} proofs/s, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms`,
  );
  console.log(
    `proveMany (${fmt(batch.size)} rows, one read, one tree): ${fmt(batch.size / manySeconds)} proofs/s, ${fmt(batch.size / ((manyCpu.user + manyCpu.system) / 1e6))} per CPU-second`,
  );
  console.log(`verifyProof (offline: signature + audit path): ${fmt(verifyPerSec)} proofs/s`);
  await store.close();
  dir.remove();
}

async function sinkThroughput(name: string, settings: SinkSettings, startReceiver: () => Promise<Receiver | undefined>, rows: number): Promise<void> {
  const dir = makeTempDir();
  const store = createMemoryAudit();
  for (let i = 1; i <= rows; i += 1) await store.append(makeEntry(i));
  const receiver = await startReceiver();
  const runner = createSinkRunner({ sink: createSink(settings), store, cursors: createFileCursorStore(dir.path), batchSize: settings.batchSize });
  const t0 = performance.now();
  while ((await runner.status()).cursor < rows) await runner.runOnce();
  if (receiver) while (receiver.seqs.length < rows) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${name.padEnd(34)} ${fmt(rows / seconds).padStart(8)} rows/s  (${fmt(rows)} rows, batches of ${settings.batchSize})`);
  await runner.stop();
  await receiver?.close();
  dir.remove();
}

async function sinks(): Promise<void> {
  console.log(`\n4. sink throughput, each to a local receiver on this machine (delivery acknowledged, cursor persisted per batch)`);
  const common = { format: 'jsonl' as const, batchSize: 100, timeoutMs: 10_000 };
  const tmp = makeTempDir();
  let port = await reservePort();
  await sinkThroughput(
    'file (fsync per batch)',
    { ...common, type: 'file', name: 'f', path: path.join(tmp.path, 'a.jsonl'), rotateBytes: 1e9, maxFiles: 2 },
    async () => undefined,
    SINK_N,
  );
  port = await reservePort();
  await sinkThroughput(
    'webhook (HMAC)',
    { ...common, type: 'webhook', name: 'w', url: `http://127.0.0.1:${port}/`, secret: 'k' },
    () => startWebhookReceiver(port, 'k'),
    SINK_N,
  );
  port = await reservePort();
  await sinkThroughput(
    'splunk_hec',
    { ...common, type: 'splunk_hec', name: 'h', url: `http://127.0.0.1:${port}`, token: 't', sourcetype: 'custos:audit', source: 'custos' },
    () => startHecReceiver(port, 't'),
    SINK_N,
  );
  port = await reservePort();
  await sinkThroughput(
    'otlp (HTTP/JSON)',
    { ...common, type: 'otlp', name: 'o', url: `http://127.0.0.1:${port}/v1/logs`, headers: {}, serviceName: 'custos' },
    () => startOtlpReceiver(port),
    SINK_N,
  );
  const syslog = { ...common, type: 'syslog' as const, name: 's', host: '127.0.0.1', appName: 'custos', facility: 13, hostname: os.hostname() };
  port = await reservePort();
  await sinkThroughput('syslog TCP (node receiver)', { ...syslog, port }, () => startSyslogReceiver(port), SINK_N);
  port = await reservePort();
  const rs = makeTempDir();
  await sinkThroughput('syslog TCP (rsyslogd)', { ...syslog, port }, () => startRsyslog(port, rs.path), SINK_N);
  const anchorRows = Math.min(SINK_N, 500);
  await sinkThroughput(
    'directory anchor (one file per row)',
    { ...common, type: 'directory', name: 'd', path: path.join(tmp.path, 'anchor') },
    async () => undefined,
    anchorRows,
  );
  const s3 = await startTestS3(['anchors']);
  await s3.start();
  await sinkThroughput(
    's3 anchor (one object per row)',
    {
      ...common,
      type: 's3',
      name: 'b',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'anchors',
      prefix: '',
      accessKeyId: S3_TEST_ACCOUNT.accessKeyId,
      secretAccessKey: S3_TEST_ACCOUNT.secretAccessKey,
    },
    async () => undefined,
    Math.min(SINK_N, 200),
  );
  await s3.close();
  rs.remove();
  tmp.remove();
  console.log('(anchors take only checkpoint rows in use, one per audit.checkpoints.everyRows rows: their rate is rows / everyRows)');
}

export async function run(): Promise<void> {
  console.log(
    `audit benchmark on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  // BENCH_AUDIT_PARTS=verification,proofs (comma-separated) runs only those parts; default all.
  const parts = new Set((process.env.BENCH_AUDIT_PARTS ?? 'durable,verification,proofs,sinks').split(','));
  if (parts.has('durable')) await durable();
  if (parts.has('verification')) await verification();
  if (parts.has('proofs')) await proofs();
  if (parts.has('sinks')) await sinks();
}
