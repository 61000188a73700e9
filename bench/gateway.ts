/**
 * `npm run bench -- gateway`: `read_text_file` of a ~1 KB file through five paths to the same
 * @modelcontextprotocol/server-filesystem, in one run, with the official SDK client:
 *
 *  - direct over stdio (the baseline);
 *  - the minimal forwarder (bench/forwarder.ts; plain JSON over node:http, no auth, no audit:
 *    the transport floor);
 *  - `supergateway --stateful` and `mcp-proxy`, as shipped;
 *  - Custos as its own process (`custos serve` through the harness): token verification,
 *    Cedar, classification, redaction, durable intent and result rows in SQLite.
 *
 * (a) sequential: BENCH_N calls (default 1000) after BENCH_WARMUP (100) per target, the
 *     targets interleaved call by call; (b) concurrent: BENCH_SESSIONS sessions (50) calling
 *     in a loop for BENCH_SECONDS (20) per target. BENCH_RUNS (1) repeats both, interleaved;
 *     the table gives the median and the spread. For Custos, every answered call's intent row
 *     is looked up in the trail afterwards. The table is printed and written into
 *     docs/performance.md (BENCH_WRITE=0: print only); BENCH_NOTE adds a line about the machine.
 *     BENCH_TARGETS=direct,custos limits the targets (e.g. to profile one); custos-sse (opt-in) adds
 *     the same Custos with a client that declares sampling, so every answer is SSE;
 *     custos-unmonitored (opt-in) adds a second Custos with `monitor.enabled: false` and turns tracing on
 *     (to a local OTLP receiver) in the first, so the monitor's cost is the difference of the two rows;
 *     BENCH_BASELINE_ROOT=DIR (opt-in) adds `custos-base`, the same Custos run from another built checkout (a
 *     before/after of a change, interleaved in one run);
 *     BENCH_CUSTOS_NODE_ARGS passes Node.js flags to `custos serve` (e.g. `--cpu-prof --cpu-prof-dir=DIR`);
 *     BENCH_BASE_NODE_ARGS, when set, gives `custos-base` its own flags (empty: none), to weigh a flag
 *     with the same build in both slots. The `custos` slot reads 2-3 % more CPU per call than `custos-base`
 *     with the same build in both (A/A): run a comparison both ways round before trusting a few per cent.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { repoRoot, serverFilesystem, startHarness } from '../test/e2e/harness.js';
import type { Harness, HarnessOptions } from '../test/e2e/harness.js';
import type { ConcurrentResult, RunResult, TargetInfo } from './gateway-report.js';
import { renderReport, replaceGatewayBlock } from './gateway-report.js';
import { BENCH_FILE, runClients, writeBenchFile } from './clients.js';
import type { BenchClient } from './clients.js';
import { cpuMeter, processCpuMs } from './cpu.js';
import { summarize, time } from './stats.js';
import type { HttpFront } from './targets.js';
import { connectHttp, startForwarderProcess, startMcpProxy, startSupergateway } from './targets.js';

const env = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
  return v;
};
const N = env('BENCH_N', 1000);
const WARMUP = env('BENCH_WARMUP', 100);
const SECONDS = env('BENCH_SECONDS', 20);
const SESSIONS = env('BENCH_SESSIONS', 50);
const RUNS = Math.max(1, env('BENCH_RUNS', 1));

const progress = (msg: string): void => void process.stderr.write(`[bench gateway ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface Target extends TargetInfo {
  /** The process that serves this target, whose CPU per call is counted (none for direct stdio). */
  readonly pid?: number;
  open(): Promise<BenchClient>;
}

async function readFile(client: Client, name: string, file: string): Promise<void> {
  const result = await client.callTool({ name, arguments: { path: file } });
  if (result.isError) throw new Error(`tool error: ${JSON.stringify(result.content).slice(0, 200)}`);
}

function httpTarget(key: string, label: string, front: HttpFront, file: string): Target {
  return {
    key,
    label,
    pid: front.pid,
    open: async () => {
      const s = await connectHttp(front.url);
      return { call: () => readFile(s.client, 'read_text_file', file).then(() => undefined), close: s.close };
    },
  };
}

const CUSTOS_LABELS: Record<string, string> = {
  custos: 'Custos (full pipeline, durable audit)',
  'custos-base': 'Custos at the baseline build (`BENCH_BASELINE_ROOT`)',
  'custos-sse': 'Custos, answers forced to SSE (client declares sampling)',
  'custos-unmonitored': 'Custos with `monitor.enabled: false` (no rules, metrics, traces)',
};

/** Custos: each tools/call carries a fresh W3C traceparent, so its intent row can be found afterwards. */
function custosTarget(h: Harness, token: string, file: string, key: 'custos' | 'custos-sse' | 'custos-unmonitored' | 'custos-base' = 'custos'): Target {
  const sse = key === 'custos-sse';
  return {
    key,
    label: CUSTOS_LABELS[key]!,
    pid: h.custos.pid,
    open: async () => {
      let trace: string | undefined;
      const traced: typeof fetch = (input, init) => {
        if (typeof init?.body !== 'string' || !init.body.includes('"tools/call"')) return fetch(input, init);
        trace = randomBytes(16).toString('hex');
        const headers = new Headers(init.headers);
        headers.set('traceparent', `00-${trace}-${randomBytes(8).toString('hex')}-01`);
        return fetch(input, { ...init, headers });
      };
      // A client that declares sampling can be sent a request mid-call, so Custos answers it with SSE.
      const capabilities = sse ? { capabilities: { sampling: {} } } : undefined;
      const s = await connectHttp(h.mcpUrl, { headers: { Authorization: `Bearer ${token}` }, fetch: traced, capabilities });
      return {
        call: async () => {
          await readFile(s.client, 'filesystem__read_text_file', file);
          return trace;
        },
        close: s.close,
      };
    },
  };
}

/** Direct: one stdio connection (one server process), shared by every caller, as Custos and mcp-proxy share theirs. */
async function directTarget(h: Harness, file: string): Promise<Target> {
  const client = await h.connectDirect();
  const session: BenchClient = { call: () => readFile(client, 'read_text_file', file).then(() => undefined), close: async () => undefined };
  return { key: 'direct', label: 'direct stdio (SDK client)', open: async () => session };
}

/** The trace ids of Custos' intent rows written since the last look. */
function createTrailReader(h: Harness): () => Promise<Set<string>> {
  let nextSeq = 1;
  return async () => {
    const traces = new Set<string>();
    for await (const r of h.custos.store.read({ fromSeq: nextSeq })) {
      nextSeq = r.seq + 1;
      if (r.event === 'intent' && r.trace_id) traces.add(r.trace_id);
    }
    return traces;
  };
}

/** Each target's process, leaving out a process that serves two targets (its CPU cannot be split between them). */
function processesOf(targets: readonly Target[]): Map<string, number | undefined> {
  const shared = (t: Target): boolean => targets.some((o) => o !== t && o.pid === t.pid);
  return new Map(targets.filter((t) => t.pid !== undefined && !shared(t)).map((t) => [t.key, t.pid]));
}

const rotate = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]!);

async function runSequential(
  targets: readonly Target[],
  run: number,
  trail: () => Promise<Set<string>>,
): Promise<Pick<RunResult, 'sequential' | 'sequentialTrail' | 'sequentialCpu'>> {
  const sessions = new Map<string, BenchClient>();
  for (const t of targets) sessions.set(t.key, await t.open());
  try {
    await trail(); // skip what is already there
    for (let i = 0; i < WARMUP; i++) for (const t of targets) await sessions.get(t.key)!.call();
    const samples = new Map<string, number[]>(targets.map((t) => [t.key, []]));
    const answeredTraces: string[] = [];
    const cpu = cpuMeter(processesOf(targets));
    for (let i = 0; i < N; i++) {
      for (const t of rotate(targets, i % targets.length)) {
        let trace: string | undefined;
        samples.get(t.key)!.push(await time(async () => (trace = await sessions.get(t.key)!.call())));
        if (trace && t.key === 'custos') answeredTraces.push(trace); // the trail read is the first Custos'
      }
      if ((i + 1) % 250 === 0) progress(`run ${run}: sequential ${i + 1}/${N}`);
    }
    const sequentialCpu = new Map([...cpu.stop()].map(([k, ms]) => [k, ms / N]));
    const found = await trail();
    const sequential = new Map([...samples].map(([k, v]) => [k, summarize(v)]));
    const hasCustos = targets.some((t) => t.key === 'custos');
    return {
      sequential,
      sequentialCpu,
      sequentialTrail: hasCustos ? { answered: answeredTraces.length, found: answeredTraces.filter((x) => found.has(x)).length } : undefined,
    };
  } finally {
    await Promise.allSettled([...sessions.values()].map((s) => s.close()));
  }
}

async function runConcurrent(target: Target, trail: () => Promise<Set<string>>): Promise<ConcurrentResult> {
  const pid = processesOf([target]).get(target.key);
  const r = await runClients(target.open, {
    clients: SESSIONS,
    seconds: SECONDS,
    afterWarm: trail, // skip the warm-up's rows
    cpuMs: pid === undefined ? undefined : () => processCpuMs(pid),
  });
  const found = target.key === 'custos' ? await trail() : undefined;
  return {
    callsPerSec: r.latencies.length / r.elapsedSec,
    latency: summarize(r.latencies),
    errors: r.errors,
    answered: r.latencies.length,
    cpuMsPerCall: r.cpuMs === undefined || r.latencies.length === 0 ? undefined : r.cpuMs / r.latencies.length,
    intentRowsFound: found ? r.ids.filter((t) => found.has(t)).length : undefined,
    firstError: r.firstError,
  };
}

function describeSetting(startedAt: Date, loadBefore: number[]): string[] {
  const version = (pkg: string): string =>
    (JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const cpus = os.cpus();
  const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' / ');
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the figures still stand, without the commit
  }
  return [
    `Run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')}–${new Date().toISOString().slice(11, 16)} UTC at commit ${commit}: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'cpu'}, ` +
      `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}; load average (1/5/15 min) ${load(loadBefore)} before, ${load(os.loadavg())} after.` +
      (process.env.BENCH_NOTE ? ` ${process.env.BENCH_NOTE}` : ''),
    `Parameters: ${N} sequential calls per target after ${WARMUP} warm-up; ${SESSIONS} concurrent sessions for ${SECONDS} s per target; ${RUNS} run(s). ` +
      `Versions: supergateway ${version('supergateway')}, mcp-proxy ${version('mcp-proxy')}, server-filesystem ${version('@modelcontextprotocol/server-filesystem')}, SDK ${version('@modelcontextprotocol/sdk')}.`,
  ];
}

async function startTargets(h: Harness, file: string, fronts: HttpFront[], bare?: Harness, base?: Harness): Promise<Target[]> {
  const wanted = process.env.BENCH_TARGETS?.split(',').map((s) => s.trim());
  const want = (key: string): boolean => !wanted || wanted.includes(key);
  const upstream = { command: process.execPath, args: [serverFilesystem, h.workspace] };
  const targets: Target[] = [];
  const add = async (key: string, label: string, start: () => Promise<HttpFront>): Promise<void> => {
    if (!want(key)) return;
    progress(`starting ${key}`);
    const front = await start();
    fronts.push(front);
    targets.push(httpTarget(key, label, front, file));
  };
  if (want('direct')) targets.push(await directTarget(h, file));
  await add('forwarder', 'minimal forwarder (transport floor)', () => startForwarderProcess(upstream));
  await add('supergateway', 'supergateway --stateful', () => startSupergateway(upstream));
  await add('mcp-proxy', 'mcp-proxy', () => startMcpProxy(upstream));
  if (want('custos')) targets.push(custosTarget(h, await h.token('alice'), file));
  // Opt-in (BENCH_TARGETS=…,custos-sse): the same Custos with every answer as SSE, to weigh the plain JSON path.
  if (wanted?.includes('custos-sse')) targets.push(custosTarget(h, await h.token('alice'), file, 'custos-sse'));
  // Opt-in (BENCH_TARGETS=…,custos-unmonitored): a second Custos with the monitor off, to weigh rules, metrics and tracing.
  if (bare) targets.push(custosTarget(bare, await bare.token('alice'), path.join(bare.workspace, BENCH_FILE), 'custos-unmonitored'));
  // Opt-in (BENCH_BASELINE_ROOT=DIR, another built checkout): the same Custos from that build, to weigh a change interleaved.
  if (base) targets.push(custosTarget(base, await base.token('alice'), path.join(base.workspace, BENCH_FILE), 'custos-base'));
  return targets;
}

/** An OTLP/HTTP endpoint that takes every export and keeps nothing (the cost measured is Custos' own). */
async function startDiscardingReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function run(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  progress(`starting the harness (dev OIDC provider, custos serve out of process)`);
  const nodeArgs = process.env.BENCH_CUSTOS_NODE_ARGS?.split(' ').filter(Boolean);
  // With custos-unmonitored: the main Custos runs every rule, metrics and tracing (spans to a local OTLP receiver that discards them).
  const compareMonitor = process.env.BENCH_TARGETS?.includes('custos-unmonitored') ?? false;
  const traces = compareMonitor ? await startDiscardingReceiver() : undefined;
  const configure: HarnessOptions['configure'] = traces ? (raw) => ({ ...raw, monitor: { tracing: { endpoint: traces.url } } }) : undefined;
  const h = await startHarness({ tap: false, outOfProcess: true, nodeArgs, configure });
  const bare = compareMonitor
    ? await startHarness({ tap: false, outOfProcess: true, nodeArgs, configure: (raw) => ({ ...raw, monitor: { enabled: false } }) })
    : undefined;
  const baselineRoot = process.env.BENCH_BASELINE_ROOT;
  const baseNodeArgs = process.env.BENCH_BASE_NODE_ARGS === undefined ? nodeArgs : process.env.BENCH_BASE_NODE_ARGS.split(' ').filter(Boolean);
  const base = baselineRoot
    ? await startHarness({ tap: false, outOfProcess: true, nodeArgs: baseNodeArgs, configure, custosRoot: path.resolve(baselineRoot) })
    : undefined;
  const fronts: HttpFront[] = [];
  try {
    const file = writeBenchFile(h.workspace);
    for (const other of [bare, base]) if (other) writeBenchFile(other.workspace);
    const targets = await startTargets(h, file, fronts, bare, base);
    const trail = createTrailReader(h);
    const runs: RunResult[] = [];
    for (let r = 1; r <= RUNS; r++) {
      progress(`run ${r}/${RUNS}: sequential, ${N} calls per target (${targets.map((t) => t.key).join(', ')})`);
      const seq = await runSequential(targets, r, trail);
      const concurrent = new Map<string, ConcurrentResult>();
      if (SECONDS > 0 && SESSIONS > 0) {
        for (const t of rotate(targets, r - 1)) {
          progress(`run ${r}/${RUNS}: ${SESSIONS} concurrent sessions for ${SECONDS} s through ${t.key}`);
          const c = await runConcurrent(t, trail);
          progress(
            `  ${t.key}: ${c.callsPerSec.toFixed(0)} calls/s, p50 ${c.latency.p50.toFixed(2)} ms, p99 ${c.latency.p99.toFixed(2)} ms, ${c.errors} errors${c.firstError ? ` (first: ${c.firstError})` : ''}`,
          );
          concurrent.set(t.key, c);
        }
      }
      runs.push({ ...seq, concurrent });
    }
    const report = renderReport({ targets, runs, setting: describeSetting(startedAt, loadBefore) });
    console.log(report);
    if (process.env.BENCH_WRITE !== '0') {
      const doc = path.join(repoRoot, 'docs/performance.md');
      writeFileSync(doc, replaceGatewayBlock(readFileSync(doc, 'utf8'), report));
      progress(`wrote the table into ${doc}`);
    }
  } finally {
    progress('shutting down');
    await Promise.allSettled(fronts.map((f) => f.stop()));
    await h.close();
    await bare?.close();
    await base?.close();
    await traces?.close();
  }
}
