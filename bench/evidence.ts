/**
 * `npm run bench -- evidence`: the cost of an evidence pack.
 *   1. a generated trail of BENCH_EVIDENCE_N rows (default 1,000,000; SQLite, signed checkpoints
 *      every 1000 rows) spread over 30 days: intent/result pairs and denies across four tiers,
 *      twenty tools, PHI and redactions, a few alerts and policy activations;
 *   2. one pack of the whole window (no PDF): wall and CPU time, files and bytes;
 *   3. report.pdf alone, printed by Debian's Chromium (BENCH_EVIDENCE_PDF=0 skips it);
 *   4. the nine control tests alone, repeated BENCH_EVIDENCE_TESTS times (default 200): CPU per run.
 * Benchmarks measure; they never fail.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync as keyPair } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createEvidenceSources } from '../src/app/index.js';
import { createAuditStore } from '../src/audit/index.js';
import { makeEntry, makeTempDir } from '../src/audit/index.test-support.js';
import { resolveConfig } from '../src/config/index.js';
import { printPdf, runControlTests, writePack } from '../src/evidence/index.js';
import { createKeyRegistry } from '../src/keys/index.js';
import type { AuditEntry, Tier } from '../src/kernel/index.js';

const N = Number(process.env.BENCH_EVIDENCE_N ?? 1_000_000);
const TEST_RUNS = Number(process.env.BENCH_EVIDENCE_TESTS ?? 200);
const PDF = process.env.BENCH_EVIDENCE_PDF !== '0';
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const TIERS: Tier[] = ['interactive', 'subagent', 'background', 'api'];
const START = Date.UTC(2026, 0, 1);
const SPAN = 30 * 86_400_000;

function entry(i: number): AuditEntry {
  const base = makeEntry(i);
  const time = new Date(START + Math.floor((i / N) * SPAN)).toISOString();
  const tier = TIERS[i % 7 === 0 ? 2 : i % 5 === 0 ? 1 : i % 11 === 0 ? 3 : 0]!;
  const tool = { server: 'filesystem', name: `tool_${i % 20}`, classes: ['read'] };
  const agent = { name: `agent-${i % 3}`, tier, delegation_chain: ['user:user-123', `agent:agent-${i % 3}`, ...(tier === 'subagent' ? ['agent:sub'] : [])] };
  if (i % 997 === 0) return { ...base, event: 'alert', time, alert: { type: 'deny_rate_spike', severity: 'medium' } };
  if (i % 250_000 === 1) return { ...base, event: 'admin', time, detail: { action: 'policy_activated', name: 'bench', version: i, approvers: ['a', 'b'] } };
  if (i % 13 === 0)
    return {
      ...base,
      event: 'deny',
      time,
      agent,
      tool,
      policy: { ...base.policy, decision: 'deny', reasons: ['phi_requires_clinician'] },
      redactions: { count: 0, types: [] },
    };
  return {
    ...base,
    time,
    agent,
    tool,
    redactions: i % 4 === 0 ? { count: 1, types: [['ssn', 'email', 'secret', 'mrn'][i % 16 === 0 ? 2 : (i / 4) % 4]!] } : { count: 0, types: [] },
  };
}

export async function run(): Promise<void> {
  const dir = makeTempDir();
  const { privateKey } = keyPair('ed25519');
  writeFileSync(path.join(dir.path, 'cp.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  cpSync(path.resolve('examples/quickstart/policy'), path.join(dir.path, 'bundle'), { recursive: true });
  const config = resolveConfig(
    {
      identity: { issuers: [{ issuer: 'https://idp.example.com', audience: 'custos' }] },
      policy: { bundle: './bundle' },
      audit: { store: 'sqlite:./audit.sqlite', checkpoints: { signingKey: 'file:cp.pem' } },
      log: { level: 'silent' },
    },
    { source: 'bench', baseDir: dir.path },
  );
  console.log(
    `evidence pack benchmark: ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  const store = await createAuditStore(config.audit.store, { busyTimeoutMs: 60_000 });
  const g0 = performance.now();
  let next = 1;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next <= N) await store.append(entry(next++));
    }),
  );
  console.log(`1. generated ${fmt(N)} rows in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
  const keys = createKeyRegistry(config.keys);
  try {
    const sources = await createEvidenceSources(config, store, keys, { tls: false });
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    const pack = await writePack(sources, { framework: 'hipaa', out: path.join(dir.path, 'pack') });
    const used = process.cpuUsage(cpu);
    console.log(
      `2. pack of ${fmt(pack.rows)} rows: ${((performance.now() - t0) / 1000).toFixed(1)} s wall, ${((used.user + used.system) / 1e6).toFixed(1)} s CPU; ${pack.files.length} files, ${fmt(pack.bytes)} bytes`,
    );
    if (PDF) {
      const p0 = performance.now();
      await printPdf(path.join(pack.dir, 'report.html'), path.join(dir.path, 'report.pdf'));
      console.log(`3. report.pdf printed by Chromium in ${((performance.now() - p0) / 1000).toFixed(1)} s wall`);
    }
    const c0 = process.cpuUsage();
    let perTest: Record<string, number> = {};
    let counted = 0; // the tests' own cpuMs, which include the SDK check's child process
    for (let i = 0; i < TEST_RUNS; i++) {
      const results = await runControlTests(sources.tests, 'no bundle');
      counted += results.reduce((sum, r) => sum + r.cpuMs, 0);
      if (i === TEST_RUNS - 1) perTest = Object.fromEntries(results.map((r) => [r.id, r.cpuMs]));
    }
    const c = process.cpuUsage(c0);
    console.log(
      `4. the nine control tests: ${((c.user + c.system) / 1000 / TEST_RUNS).toFixed(2)} ms CPU per run of all nine in this process, ${(counted / TEST_RUNS).toFixed(2)} ms with the SDK check's child process (${TEST_RUNS} runs)`,
    );
    console.log(
      `   last run, ms CPU each: ${Object.entries(perTest)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  } finally {
    keys.close();
    await store.close();
    dir.remove();
  }
}
