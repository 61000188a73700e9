/**
 * `npm run bench -- load`: load and soak. K concurrent MCP sessions (the official SDK client,
 * `read_text_file` of a ~1 KB file in a loop) for T seconds through each target, and for Custos
 * also K decision-API clients (`POST /v1/authorize` then `POST /v1/results`, what the SDK's guard
 * sends), against the quick-start configuration:
 *
 *  - `custos`: one `custos serve` replica as the quick start runs it (SQLite trail);
 *  - `custos-pg-1`: one replica behind HAProxy on PostgreSQL;
 *  - `custos-pg-3`: three replicas behind HAProxy (round-robin, no affinity) on one PostgreSQL;
 *  - `supergateway --stateful` and `mcp-proxy`, as shipped, in front of the same stdio server.
 *
 * Each target and door is one phase; BENCH_RUNS runs (default 3) repeat every phase, the order
 * rotated each run (interleaved), and the table gives the median and the spread (min–max).
 * Reported per phase: calls/s, p50/p99, errors; the CPU the serving processes spent per call
 * (the replicas, or the proxy's front process; the stdio servers behind are not counted: on a
 * loaded machine this is the figure that compares); the serving processes' RSS (the replicas, or the
 * proxy's front process), sampled every second from the end of the warm-up (printed per phase as
 * its trend, and at the end of each run's phase in the table: flat means no growth after warm-up;
 * a soak is one long phase, e.g. BENCH_TARGETS=custos BENCH_RUNS=1 BENCH_SECONDS=600); and for Custos the count check: every answered call's intent and result rows are
 * in the trail (found by request id), and the whole trail verifies.
 *
 * BENCH_SESSIONS (K, default 50), BENCH_SECONDS (T, default 10), BENCH_RUNS (3),
 * BENCH_TARGETS (comma list, default all five). BENCH_SHORT=1: K=8, T=3, one run (a quick check).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyStore } from '../src/audit/index.js';
import { REQUEST_ID_META } from '../src/gateway/mcp/session-server.js';
import { serverFilesystem, startHarness } from '../test/e2e/harness.js';
import type { Harness } from '../test/e2e/harness.js';
import { startPostgres } from '../test/e2e/postgres.js';
import type { TestPostgres } from '../test/e2e/postgres.js';
import { runClients, writeBenchFile } from './clients.js';
import type { BenchClient } from './clients.js';
import { processCpuMs } from './cpu.js';
import { formatSpread, summarize } from './stats.js';
import type { HttpFront } from './targets.js';
import { connectHttp, startMcpProxy, startSupergateway } from './targets.js';

const SHORT = process.env.BENCH_SHORT === '1';
const num = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const SESSIONS = num('BENCH_SESSIONS', SHORT ? 8 : 50);
const SECONDS = num('BENCH_SECONDS', SHORT ? 3 : 10);
const RUNS = num('BENCH_RUNS', SHORT ? 1 : 3);
const ALL = ['custos', 'custos-pg-1', 'custos-pg-3', 'supergateway', 'mcp-proxy'];

const progress = (msg: string): void => void process.stderr.write(`[bench load ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface Phase {
  readonly key: string;
  /** The processes whose RSS is sampled. */
  readonly pids: () => readonly number[];
  open(): Promise<BenchClient>;
  /** For Custos: the harness whose trail the count check reads. */
  readonly harness?: Harness;
}

interface PhaseRun {
  readonly callsPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly rssMb: number;
  /** The serving processes' RSS, sampled every second from the end of the warm-up to the end of the loop. */
  readonly rssSeries: readonly number[];
  /** CPU (user + system) the serving processes spent per call answered. */
  readonly cpuMsPerCall: number;
  readonly requestIds: string[];
}

/** A phase's RSS samples as at most 13 points (after warm-up … end), and the largest: shows growth in a soak (BENCH_SECONDS=600). */
function rssTrend(series: readonly number[]): string {
  const step = Math.max(1, Math.ceil((series.length - 1) / 12));
  const points = series.filter((_, i) => i % step === 0 || i === series.length - 1);
  return `${points.map((x) => x.toFixed(0)).join(' → ')} (max ${Math.max(...series).toFixed(0)})`;
}

function rssMb(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone (a killed replica): counts nothing
    }
  }
  return kb / 1024;
}

function mcpPhase(key: string, url: string, tool: string, file: string, pids: () => readonly number[], token?: string, harness?: Harness): Phase {
  return {
    key,
    pids,
    harness,
    open: async () => {
      const s = await connectHttp(url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
      return {
        call: async () => {
          const r = await s.client.callTool({ name: tool, arguments: { path: file } });
          if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content).slice(0, 200)}`);
          return r._meta?.[REQUEST_ID_META] as string | undefined;
        },
        close: s.close,
      };
    },
  };
}

/** Decision-API clients: authorize, then report the result (the SDK guard's two requests). */
function decisionPhase(key: string, h: Harness, token: string, file: string, pids: () => readonly number[]): Phase {
  const post = async (p: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${h.custos.url.replace(/\/$/, '')}${p}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const tool = { server: 'filesystem', name: 'read_text_file' };
  const agent = { name: 'bench-load' };
  return {
    key,
    pids,
    harness: h,
    open: async () => ({
      call: async () => {
        const decision = await post('/v1/authorize', { tool, arguments: { path: file }, agent });
        if (decision.decision !== 'allow') throw new Error(`denied: ${JSON.stringify(decision).slice(0, 200)}`);
        await post('/v1/results', { request_id: decision.request_id, output: { content: [{ type: 'text', text: 'handbook' }] } });
        return decision.request_id as string;
      },
      close: async () => undefined,
    }),
  };
}

async function runPhase(phase: Phase): Promise<PhaseRun> {
  let rss = 0;
  const rssSeries: number[] = [];
  let sampler: NodeJS.Timeout | undefined;
  const sample = (): void => void rssSeries.push(rssMb(phase.pids()));
  const r = await runClients(phase.open, {
    clients: SESSIONS,
    seconds: SECONDS,
    cpuMs: () => phase.pids().reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0),
    afterWarm: async () => {
      sample();
      sampler = setInterval(sample, 1000);
    },
    afterLoop: () => {
      clearInterval(sampler);
      rss = rssMb(phase.pids());
      rssSeries.push(rss);
    },
  });
  const s = summarize(r.latencies);
  return {
    callsPerSec: r.latencies.length / r.elapsedSec,
    p50: s.p50,
    p99: s.p99,
    errors: r.errors,
    firstError: r.firstError,
    rssMb: rss,
    rssSeries,
    cpuMsPerCall: (r.cpuMs ?? 0) / Math.max(1, r.latencies.length),
    requestIds: [...r.warmIds, ...r.ids],
  };
}

/** The count check on one Custos: every answered call's intent and result rows are there, and the trail verifies. */
async function countCheck(h: Harness, answered: readonly string[]): Promise<string> {
  const intents = new Set<string>();
  const results = new Set<string>();
  for (const r of await h.auditRecords()) {
    if (!r.request_id) continue;
    if (r.event === 'intent') intents.add(r.request_id);
    if (r.event === 'result') results.add(r.request_id);
  }
  const missingIntent = answered.filter((id) => !intents.has(id)).length;
  const missingResult = answered.filter((id) => !results.has(id)).length;
  const report = await verifyStore(h.config.audit!.store!);
  return (
    `${answered.length} calls answered: ${answered.length - missingIntent} intent rows, ${answered.length - missingResult} result rows found` +
    ` (${missingIntent + missingResult === 0 ? 'none missing' : 'ROWS MISSING'}); trail of ${report.count} rows ${report.ok ? 'verifies' : `does NOT verify (${report.reason})`}`
  );
}

export async function run(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const wanted = process.env.BENCH_TARGETS?.split(',').map((s) => s.trim()) ?? ALL;
  const harnesses: Harness[] = [];
  const dbs: TestPostgres[] = [];
  const fronts: HttpFront[] = [];
  const phases: Phase[] = [];
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'custos-bench-load-'));
  try {
    const custos = async (key: string, replicas: number): Promise<void> => {
      progress(`starting ${key}`);
      const db = replicas > 0 ? await startPostgres() : undefined;
      if (db) dbs.push(db);
      const h = await startHarness({
        tap: false,
        ...(db ? { replicas, configure: (raw) => ({ ...raw, audit: { ...raw.audit, store: db.url } }) } : { outOfProcess: true }),
      });
      harnesses.push(h);
      const file = writeBenchFile(h.workspace);
      const pids = (): number[] => (db ? h.replicaProcesses : [h.custos]).map((p) => p.pid!).filter(Boolean);
      const token = await h.token('alice');
      phases.push(mcpPhase(`${key} MCP`, h.mcpUrl, 'filesystem__read_text_file', file, pids, token, h));
      phases.push(decisionPhase(`${key} decision API`, h, token, file, pids));
    };
    if (wanted.includes('custos')) await custos('custos', 0);
    if (wanted.includes('custos-pg-1')) await custos('custos-pg-1', 1);
    if (wanted.includes('custos-pg-3')) await custos('custos-pg-3', 3);
    // The plain proxies front the same server on a folder of their own (they have no roots to configure).
    mkdirSync(path.join(workspace, 'notes'));
    const proxies: Array<[string, typeof startSupergateway]> = [
      ['supergateway', startSupergateway],
      ['mcp-proxy', startMcpProxy],
    ];
    for (const [key, start] of proxies) {
      if (!wanted.includes(key)) continue;
      progress(`starting ${key}`);
      const file = writeBenchFile(workspace);
      const front = await start({ command: process.execPath, args: [serverFilesystem, workspace] });
      fronts.push(front);
      phases.push(mcpPhase(`${key} MCP`, front.url, 'read_text_file', file, () => [front.pid!]));
    }

    const results = new Map<string, PhaseRun[]>(phases.map((p) => [p.key, []]));
    for (let r = 0; r < RUNS; r++) {
      for (const phase of phases.map((_, i) => phases[(i + r) % phases.length]!)) {
        progress(`run ${r + 1}/${RUNS}: ${SESSIONS} clients for ${SECONDS} s through ${phase.key}`);
        const res = await runPhase(phase);
        progress(
          `  ${res.callsPerSec.toFixed(0)} calls/s, p50 ${res.p50.toFixed(1)} ms, p99 ${res.p99.toFixed(1)} ms, ${res.cpuMsPerCall.toFixed(1)} ms CPU per call, ${res.errors} errors${res.firstError ? ` (first: ${res.firstError})` : ''}, RSS ${rssTrend(res.rssSeries)} MB, load ${os.loadavg()[0]!.toFixed(1)}`,
        );
        results.get(phase.key)!.push(res);
      }
    }

    const lines = [
      `Load bench (\`npm run bench -- load\`${SHORT ? ', BENCH_SHORT=1' : ''}), ${startedAt.toISOString().slice(0, 16).replace('T', ' ')}–${new Date().toISOString().slice(11, 16)} UTC: ` +
        `${os.cpus().length} cores, Node ${process.versions.node}; load average ${loadBefore.map((x) => x.toFixed(1)).join(' / ')} before, ${os
          .loadavg()
          .map((x) => x.toFixed(1))
          .join(' / ')} after. ${SESSIONS} clients for ${SECONDS} s per phase, ${RUNS} interleaved run(s); median (min–max).`,
      '',
      '| phase | calls/s | p50 ms | p99 ms | CPU ms per call | errors | RSS MB at the end of each run |',
      '|---|---|---|---|---|---|---|',
      ...phases.map((p) => {
        const rs = results.get(p.key)!;
        return `| ${p.key} | ${formatSpread(
          rs.map((x) => x.callsPerSec),
          0,
        )} | ${formatSpread(
          rs.map((x) => x.p50),
          1,
        )} | ${formatSpread(
          rs.map((x) => x.p99),
          1,
        )} | ${formatSpread(
          rs.map((x) => x.cpuMsPerCall),
          1,
        )} | ${rs.reduce((a, x) => a + x.errors, 0)} | ${rs.map((x) => x.rssMb.toFixed(0)).join(' → ')} |`;
      }),
      '',
      'Count check (all runs):',
    ];
    for (const h of new Set(phases.map((p) => p.harness).filter((x): x is Harness => x !== undefined))) {
      const answered = phases.filter((p) => p.harness === h).flatMap((p) => results.get(p.key)!.flatMap((x) => x.requestIds));
      const key = phases.find((p) => p.harness === h)!.key.split(' ')[0];
      lines.push(`- ${key}: ${await countCheck(h, answered)}`);
    }
    console.log(lines.join('\n'));
  } finally {
    progress('shutting down');
    await Promise.allSettled(fronts.map((f) => f.stop()));
    await Promise.allSettled(harnesses.map((h) => h.close()));
    await Promise.allSettled(dbs.map((d) => d.stop()));
    rmSync(workspace, { recursive: true, force: true });
  }
}
