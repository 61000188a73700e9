/**
 * `npm run bench -- policy`: the cost of one Cedar decision (`ActivePolicy.decide`) on the
 * quick-start bundle, as the pipeline calls it per governed action: uncached (every request
 * a new user, so the per-bundle decision cache misses) and a repeat (the cache answers).
 * Then (issue 9): 200 policies and 1,000 entities, the prepared policy set against re-parsing
 * the text per call; the rate-limit stage's counter on SQLite and on PostgreSQL; and the time
 * from writing an approved bundle to the first decision made by it (directory watch).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { createAuditStore, createRateCounter } from '../src/audit/index.js';
import { createPipeline } from '../src/kernel/index.js';
import type { DecisionInput, RateCounter } from '../src/kernel/index.js';
import { createActivator, createPolicySource, loadBundle, watchDirectory } from '../src/policy/index.js';
import { approveBundle, copyQuickstart, makeApprover, writeBundle, writeManifest } from '../src/policy/bundles.test-support.js';
import { createProtector } from '../src/protect/index.js';
import { startPostgres } from '../test/e2e/postgres.js';
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
  await manyPolicies();
  await rateLimitCost();
  await activationLatency();
}

function row(name: string, samples: readonly number[]): string {
  const s = summarize(samples);
  return `| ${name} | ${Math.round(1000 / s.mean).toLocaleString('en')} | ${formatMs(s.p50)} | ${formatMs(s.p99)} |`;
}

/** 200 policies (one role each, on tool classes), 1,000 users: prepared set vs re-parsing the text per call. */
async function manyPolicies(): Promise<void> {
  const policies = Array.from(
    { length: 200 },
    (_, i) =>
      `@id("p${i}")\npermit (principal, action == Custos::Action::"call_tool", resource) when { principal.roles.contains("role-${i}") && resource.classes.contains("read") };\n`,
  ).join('');
  const bundle = await loadBundle(await writeBundle({ 'policies/many.cedar': policies }));
  const users = Array.from({ length: 1000 }, (_, i) => ({ sub: `u${i}`, iss: 'idp', roles: [`role-${i % 250}`], groups: [] }));
  const tool = { server: 'demo', name: 'read' };
  const input = (i: number): DecisionInput => ({
    action: 'call_tool',
    principal: users[i % users.length]!,
    agent: { name: 'bench', tier: 'interactive', delegationChain: ['user:x', 'agent:bench'] },
    tool,
    toolClasses: ['read'],
    dataClasses: [],
  });
  const n = Math.min(N, 2000);
  const prepared = Array.from({ length: n }, (_, i) => timeSync(() => bundle.policy.decide({ ...input(i), agent: { ...input(i).agent, name: `bench-${i}` } })));
  const reparsed = Array.from({ length: Math.min(n, 300) }, (_, i) =>
    timeSync(() => {
      const p = users[i % users.length]!;
      isAuthorized({
        principal: { type: 'Custos::User', id: p.sub },
        action: { type: 'Custos::Action', id: 'call_tool' },
        resource: { type: 'Custos::Tool', id: 'demo/read' },
        context: {},
        policies: { staticPolicies: policies },
        entities: [
          { uid: { type: 'Custos::User', id: p.sub }, attrs: { roles: [...p.roles], groups: [], tenant: '', iss: 'idp' }, parents: [] },
          { uid: { type: 'Custos::Tool', id: 'demo/read' }, attrs: { server: 'demo', name: 'read', classes: ['read'] }, parents: [] },
        ],
      });
    }),
  );
  console.log('');
  console.log(`200 policies, 1,000 users (entities), uncached decisions (${n} prepared, ${reparsed.length} re-parsed)`);
  console.log('| decision | decisions/s (1/mean) | p50 | p99 |');
  console.log('|---|---|---|---|');
  console.log(row('prepared policy set (Custos)', prepared));
  console.log(row('re-parsing the policy text per call', reparsed));
  console.log(`ratio of p50s: re-parsing / prepared = ${(summarize(reparsed).p50 / summarize(prepared).p50).toFixed(1)}×`);
}

/** One governed action through the decision stages, with and without a rate limit counted on each store. */
async function rateLimitCost(): Promise<void> {
  const dir = await copyQuickstart();
  await writeManifest(dir, { name: 'bench', version: 1, rateLimits: [{ id: 'reads', per: ['user'], classes: ['read'], perMinute: 1_000_000_000 }] });
  const limited = await loadBundle(dir);
  const plain = await loadBundle(await copyQuickstart());
  const pg = await startPostgres();
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'custos-bench-')), 'c.sqlite');
  const counters: Array<[string, RateCounter | undefined]> = [
    ['no rate limit (baseline)', undefined],
    ['rate limit, SQLite counters', await createRateCounter(`sqlite:${file}`)],
    ['rate limit, PostgreSQL counters', await createRateCounter(pg.url)],
  ];
  const audit = await createAuditStore('sqlite::memory:');
  const n = Math.min(N, 1000);
  console.log('');
  console.log(`The decision stages (pipeline.evaluate would skip counting, so authorize on an in-memory trail), ${n} calls each`);
  console.log('| stages | calls/s (1/mean) | p50 | p99 |');
  console.log('|---|---|---|---|');
  for (const [name, counter] of counters) {
    const pipeline = createPipeline({
      policy: createPolicySource((counter ? limited : plain).policy),
      protector: createProtector(),
      audit,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
      ...(counter ? { rateCounter: counter } : {}),
    });
    const call = () => ({
      requestId: randomUUID(),
      kind: 'tool' as const,
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: '/w/notes.txt' },
      principal: { sub: 'alice', iss: 'idp', roles: ['clinician'], groups: [] },
      agent: { name: 'bench', tier: 'interactive' as const, delegationChain: ['user:alice', 'agent:bench'] },
    });
    for (let i = 0; i < 50; i++) await pipeline.authorize(call());
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      await pipeline.authorize(call());
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    console.log(row(name, samples));
    await counter?.close();
  }
  await audit.close();
  await pg.stop();
}

/** From writing an approved bundle into a watched directory to the first decision by it (median of runs). */
async function activationLatency(): Promise<void> {
  const alice = makeApprover('alice');
  const bob = makeApprover('bob');
  const samples: number[] = [];
  for (let run = 0; run < 5; run++) {
    const dir = await copyQuickstart();
    await writeManifest(dir, { name: 'bench', version: 1, author: 'alice' });
    await approveBundle(dir, alice, bob);
    const first = await loadBundle(dir);
    const source = createPolicySource(first.policy);
    const audit = await createAuditStore('sqlite::memory:');
    const recorder = createPipeline({ policy: source, protector: createProtector(), audit, clock: { now: () => new Date() }, ids: { newId: randomUUID } });
    const settings = {
      approvals: { requiredApprovals: 1, approvers: [alice, bob], allowEmergency: false },
      stateDir: await mkdtemp(path.join(tmpdir(), 'custos-bench-state-')),
    };
    const activator = createActivator(first, { ...settings, source, recorder });
    const follower = watchDirectory(dir, (d, c) => activator.offer(d, c), { pollMs: 1000, onError: () => undefined });
    // A commit as a deploy writes it: the files, then the approvals.
    const start = process.hrtime.bigint();
    await writeManifest(dir, { name: 'bench', version: 2, author: 'alice' });
    await writeFile(path.join(dir, 'policies', 'more.cedar'), '@id("more")\nforbid (principal, action, resource) when { false };\n');
    const hash = await approveBundle(dir, alice, bob);
    while (source.current().bundleHash !== hash) await new Promise((r) => setTimeout(r, 1));
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    follower.close();
    await audit.close();
  }
  const s = summarize(samples);
  console.log('');
  console.log(`From an approved bundle written to a watched directory to the first decision by it (policy.pollMs 1000; ${samples.length} runs)`);
  console.log(`p50 ${formatMs(s.p50)}, max ${formatMs(Math.max(...samples))}`);
}
