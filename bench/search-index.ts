/**
 * `npm run bench -- search-index`: how fast the search index is built from a trail, in rows per
 * CPU-second (every thread of the process: the trail's reader thread included), beside another
 * build's (`BENCH_BASELINE_ROOT=DIR`, a built checkout, e.g. main's), interleaved.
 *
 * One SQLite trail of BENCH_ROWS rows (default 100 000) shaped like the pipeline's (intent and
 * result rows, users with emails, agents, tools, paths, data classes) is written once; then
 * each run, in a fresh child process, indexes it whole into a new index file
 * (`createSearchIndex(...).catchUp()`, default batch, keyed terms where the build has them)
 * and reports its CPU and wall time. BENCH_RUNS rounds
 * (default 3) alternate the builds. The wall time is only comparable within one round.
 */
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The root of this build (dist-bench/bench → the checkout). */
const ownRoot = path.resolve(here, '..', '..');

interface AuditModule {
  createAuditStore(uri: string): Promise<{ append(e: unknown): Promise<unknown>; close(): Promise<void>; head(): Promise<{ seq: number }> }>;
  createSearchIndex(store: unknown, backend: unknown, options: Record<string, unknown>): { catchUp(): Promise<number>; close(): Promise<void> };
  createSqliteSearchIndex(file: string): unknown;
}

const load = (root: string): Promise<AuditModule> => import(pathToFileURL(path.join(root, 'dist', 'audit', 'index.js')).href) as Promise<AuditModule>;

const USERS = Array.from({ length: 40 }, (_, i) => `user-${i}`);
const TOOLS = ['read_text_file', 'write_file', 'list_directory', 'query', 'search'];

/** The n-th row: an intent (allowed call naming a patient's path) or its result. */
function entry(n: number): Record<string, unknown> {
  const user = USERS[n % USERS.length]!;
  const intent = n % 2 === 1;
  const call = Math.ceil(n / 2);
  return {
    schema: 'custos.audit/v1',
    event: intent ? 'intent' : 'result',
    kind: 'tool',
    time: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    request_id: `req-${call}`,
    user: { sub: user, iss: 'https://idp.example.com', email: `${user}@example.com`, tenant: 'acme' },
    agent: { name: `agent-${call % 7}`, tier: call % 5 === 0 ? 'background' : 'interactive', delegation_chain: [] },
    tool: { server: 'filesystem', name: TOOLS[call % TOOLS.length]!, classes: ['phi'] },
    data_classes: call % 3 === 0 ? ['phi', 'pii'] : ['pii'],
    policy: { decision: call % 11 === 0 ? 'deny' : 'allow', bundle_hash: 'a'.repeat(64), determining_policies: ['p1'], reasons: [] },
    redactions: { count: call % 4, types: call % 4 ? ['ssn'] : [] },
    ...(intent ? { input: { redacted: { path: `/srv/records/phi/patient-${String(call % 5000).padStart(5, '0')}.md` }, sha256: 'b'.repeat(64) } } : {}),
    ...(intent ? {} : { output: { redacted: { content: [{ type: 'text', text: 'Type 2 diabetes; [redacted:ssn]' }] }, sha256: 'c'.repeat(64) } }),
  };
}

/** Writes the trail (group commit: many appends in flight). */
export async function writeTrail(file: string, rows: number): Promise<void> {
  const audit = await load(ownRoot);
  const store = await audit.createAuditStore(`sqlite:${file}`);
  for (let n = 1; n <= rows; n += 1000) {
    const batch: Array<Promise<unknown>> = [];
    for (let k = n; k < Math.min(n + 1000, rows + 1); k++) batch.push(store.append(entry(k)));
    await Promise.all(batch);
  }
  await store.close();
}

/** In a child process: index the trail with the build at `root`; prints {rows, cpuMs, wallMs}. */
async function child(root: string, trail: string, indexFile: string): Promise<void> {
  const audit = await load(root);
  const store = await audit.createAuditStore(`sqlite:${trail}`);
  // Keyed as an encrypted trail must be (audit.search.indexKey); a build without keyed terms ignores `key`.
  const secret = randomBytes(32);
  const key = { id: 'bench-index', mac: (data: Buffer) => createHmac('sha256', secret).update(data).digest() };
  const index = audit.createSearchIndex(store, audit.createSqliteSearchIndex(indexFile), { key });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rows = await index.catchUp();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await index.close();
  await store.close();
  process.stdout.write(JSON.stringify({ rows, cpuMs: (cpu.user + cpu.system) / 1000, wallMs }));
}

export async function run(): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 100_000);
  const rounds = Number(process.env.BENCH_RUNS ?? 3);
  const baseline = process.env.BENCH_BASELINE_ROOT;
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-bench-index-'));
  try {
    const trail = path.join(dir, 'trail.db');
    await writeTrail(trail, rows);
    const builds: Array<[string, string]> = [['this build', ownRoot], ...(baseline ? [['baseline', path.resolve(baseline)] as [string, string]] : [])];
    console.log(
      `search index build, ${rows} rows, ${rounds} rounds, ${cpus().length} CPUs, load average at start ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const results = new Map<string, Array<{ cpuMs: number; wallMs: number }>>();
    for (let r = 0; r < rounds; r++) {
      for (const [name, root] of r % 2 ? [...builds].reverse() : builds) {
        const indexFile = path.join(dir, `index-${r}-${name.replace(/\W/g, '')}.search`);
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', root, trail, indexFile], {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        });
        const res = JSON.parse(out) as { rows: number; cpuMs: number; wallMs: number };
        if (res.rows !== rows) throw new Error(`${name} indexed ${res.rows} rows, not ${rows}`);
        results.set(name, [...(results.get(name) ?? []), res]);
        console.log(
          `  round ${r + 1} ${name.padEnd(10)} ${(rows / (res.cpuMs / 1000)).toFixed(0).padStart(7)} rows/CPU-s  (CPU ${res.cpuMs.toFixed(0)} ms, wall ${res.wallMs.toFixed(0)} ms)`,
        );
        for (const f of [indexFile, `${indexFile}-wal`, `${indexFile}-shm`]) if (existsSync(f)) rmSync(f);
      }
    }
    console.log('median of the rounds:');
    for (const [name, list] of results) {
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const cpuMs = median(list.map((x) => x.cpuMs));
      console.log(`  ${name.padEnd(10)} ${(rows / (cpuMs / 1000)).toFixed(0).padStart(7)} rows/CPU-s  (CPU ${cpuMs.toFixed(0)} ms per ${rows} rows)`);
    }
    console.log(
      `load average at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!, process.argv[5]!);
