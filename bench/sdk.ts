/**
 * `npm run bench -- sdk`: the SDK's added latency per guarded call. Against one in-process
 * Custos (the harness, quick-start bundle), interleaved per iteration so both see the same load:
 *   bare   — fetch POST /v1/authorize, then fetch POST /v1/results (what the SDK sends)
 *   guard  — custos.guard(tool, fn) for the same call (authorize, run a no-op tool, report)
 * and the authorize step alone (fetch vs custos.authorize). The difference is the SDK's work
 * (argument handling, typed errors, its deadline); the decision itself is the same.
 */
import path from 'node:path';
import { createCustos } from '../sdk/src/index.js';
import { startHarness } from '../test/e2e/harness.js';
import { formatMs, summarize, time } from './stats.js';

const N = Number(process.env.BENCH_N ?? 400);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 50);
const agent = { name: 'bench-sdk' };
const tool = { server: 'filesystem', name: 'read_text_file' };

export async function run(): Promise<void> {
  const h = await startHarness({ tap: false });
  try {
    const token = await h.token('alice');
    const args = { path: path.join(h.workspace, 'notes/handbook.md') };
    const output = { content: [{ type: 'text', text: 'handbook' }] };
    const custos = createCustos({ baseUrl: h.custos.url, token, agent });
    const guarded = custos.guard(tool, async () => output);
    const post = async (p: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(`${h.custos.url}${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${p}: HTTP ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const bareAuthorize = () => post('/v1/authorize', { tool, arguments: args, agent });
    const bareCall = async () => {
      const decision = await bareAuthorize();
      return post('/v1/results', { request_id: decision.request_id, output });
    };
    const steps: Record<string, () => Promise<unknown>> = {
      'bare fetch: authorize + results': bareCall,
      'SDK guard (authorize, no-op tool, report)': () => guarded(args),
      'bare fetch: authorize only': bareAuthorize,
      'SDK authorize only': () => custos.authorize(tool, args),
    };
    const samples = Object.fromEntries(Object.keys(steps).map((k) => [k, [] as number[]]));
    for (let i = 0; i < WARMUP; i++) for (const fn of Object.values(steps)) await fn();
    for (let i = 0; i < N; i++) for (const [k, fn] of Object.entries(steps)) samples[k]!.push(await time(fn));
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    console.log(`sdk benchmark: ${N} calls per variant after ${WARMUP} warm-up, interleaved, sequential, one in-process Custos (SQLite, quick-start bundle)`);
    console.log('| variant | p50 | p90 | p99 | mean |');
    console.log('|---|---|---|---|---|');
    for (const [k, v] of Object.entries(s)) console.log(`| ${k} | ${formatMs(v.p50)} | ${formatMs(v.p90)} | ${formatMs(v.p99)} | ${formatMs(v.mean)} |`);
    const g = s['SDK guard (authorize, no-op tool, report)']!;
    const b = s['bare fetch: authorize + results']!;
    const a = s['SDK authorize only']!;
    const f = s['bare fetch: authorize only']!;
    console.log(`\nadded by the SDK per guarded call: p50 ${formatMs(g.p50 - b.p50)} (×${(g.p50 / b.p50).toFixed(2)}), mean ${formatMs(g.mean - b.mean)}`);
    console.log(`added by the SDK per authorize: p50 ${formatMs(a.p50 - f.p50)} (×${(a.p50 / f.p50).toFixed(2)}), mean ${formatMs(a.mean - f.mean)}`);
  } finally {
    await h.close();
  }
}
