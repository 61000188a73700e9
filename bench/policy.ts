/**
 * `npm run bench -- policy`: the cost of one Cedar decision (`ActivePolicy.decide`) on the
 * quick-start bundle, as the pipeline calls it per governed action: uncached (every request
 * a new user, so the per-bundle decision cache misses) and a repeat (the cache answers).
 */
import path from 'node:path';
import type { DecisionInput } from '../src/kernel/index.js';
import { loadBundle } from '../src/policy/index.js';
import { formatMs, summarize } from './stats.js';

const N = Number(process.env.BENCH_N ?? 5000);
const WARMUP = 500;

function timeSync(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function run(): Promise<void> {
  const bundle = await loadBundle(path.resolve(import.meta.dirname, '../../examples/quickstart/policy'));
  const policy = bundle.policy;
  const tool = { server: 'filesystem', name: 'read_text_file' };
  const input = (i: number): DecisionInput => ({
    action: 'call_tool',
    principal: { sub: `user-${i}`, iss: 'https://idp.example', roles: ['clinician'], groups: [] },
    agent: { name: 'bench-agent', tier: 'interactive', delegationChain: [`user:user-${i}`, 'agent:bench-agent'] },
    tool,
    toolClasses: policy.classifyTool(tool).classes,
    dataClasses: ['phi'],
  });
  const first = policy.decide(input(0));
  if (first.decision !== 'allow') throw new Error(`expected allow, got ${first.decision} (${first.reasons.join(', ')})`);
  for (let i = 0; i < WARMUP; i++) policy.decide(input(-1 - i));

  const uncached = Array.from({ length: N }, (_, i) => input(i + 1)).map((x) => timeSync(() => policy.decide(x)));
  const repeat = input(0);
  const cached = Array.from({ length: N }, () => timeSync(() => policy.decide(repeat)));

  console.log(`Cedar decision, quick-start bundle, ${N} decisions each after ${WARMUP} warm-up ones`);
  console.log('| decision | p50 | p90 | p99 |');
  console.log('|---|---|---|---|');
  for (const [name, samples] of [
    ['uncached (a new user each time)', uncached],
    ['repeat (decision cache)', cached],
  ] as const) {
    const s = summarize(samples);
    console.log(`| ${name} | ${formatMs(s.p50)} | ${formatMs(s.p90)} | ${formatMs(s.p99)} |`);
  }
}
