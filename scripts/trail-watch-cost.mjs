// The trail watch's cost on an SQLite trail (docs/performance.md, "The trail watch"); run after `npm run build`:
//   node scripts/trail-watch-cost.mjs [ROWS=50000] [NEW_ROWS=1000]
// Builds a trail of ROWS rows of about 0.9 KB (the first appended by the store, the rest inserted
// chained), then, interleaved three times: a full pass of the watch beside `verifyChain(store.readRaw())`
// (what `custos audit verify` does), CPU of the process (main thread and the store's thread) per row,
// and the longest event-loop delay seen meanwhile (beside the same figure idle: on a loaded machine it
// includes the scheduler's); then an incremental pass over NEW_ROWS new rows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { computeRecordHash, createAuditStore, verifyChain } from '../dist/audit/index.js';
import { AUDIT_SCHEMA, canonicalize } from '../dist/kernel/index.js';
import { createTrailWatch } from '../dist/monitor/index.js';

const ROWS = Number(process.argv[2] ?? 50_000);
const NEW_ROWS = Number(process.argv[3] ?? 1_000);
const dir = mkdtempSync(path.join(tmpdir(), 'custos-watch-cost-'));
const file = path.join(dir, 'audit.sqlite');

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

/** Inserts `count` chained rows after the store's head, straight into the file (fast to build). */
function insertRows(head, count) {
  const db = new Database(file);
  const insert = db.prepare('INSERT INTO audit_records (seq, hash, record) VALUES (?, ?, ?)');
  let prev = head;
  db.transaction(() => {
    for (let i = 1; i <= count; i++) {
      const record = { ...entry(prev.seq + 1), seq: prev.seq + 1, prev_hash: prev.hash };
      const hash = computeRecordHash(record);
      insert.run(record.seq, hash, canonicalize({ ...record, hash }));
      prev = { seq: record.seq, hash };
    }
  })();
  db.close();
  return prev;
}

async function measure(label, rows, run) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  delay.disable();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `${label.padEnd(34)} rows ${String(rows).padStart(7)}  wall ${wall.toFixed(0).padStart(6)} ms  CPU ${cpuMs.toFixed(0).padStart(6)} ms  ` +
      `${((cpuMs * 1000) / rows).toFixed(1)} µs CPU/row  ${Math.round(rows / (cpuMs / 1000))} rows/CPU-s  event-loop delay max ${(delay.max / 1e6).toFixed(1)} ms`,
  );
}

const silent = { info() {}, warn() {}, error() {} };
let store = await createAuditStore(`sqlite:${file}`);
await store.append(entry(1));
let head = await store.head();
await store.close();
head = insertRows(head, ROWS - 1);
store = await createAuditStore(`sqlite:${file}`);
console.log(
  `trail: ${head.seq} rows; load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

const failures = [];
const newWatch = (fullEveryMs) =>
  createTrailWatch({
    store,
    settings: { everyMs: 1000, fullEveryMs },
    clock: { now: () => new Date() },
    logger: silent,
    onFailure: async (f) => void failures.push(f),
  });
let watch;
for (let round = 1; round <= 3; round++) {
  // The event loop's delay with nothing to do, on this machine at this load: the floor of the column.
  await measure(`[${round}] idle 1.5 s (event-loop floor)`, 1, () => new Promise((resolve) => setTimeout(resolve, 1500)));
  await measure(`[${round}] verifyChain(readRaw()) (baseline)`, head.seq, async () => {
    const report = await verifyChain(store.readRaw());
    if (!report.ok) throw new Error('baseline failed');
  });
  watch = newWatch(1000); // every pass full
  await measure(`[${round}] trail watch, full pass`, head.seq, () => watch.pass());
  if (watch.status().verified?.seq !== head.seq) throw new Error('the full pass did not reach the head');
}
// Incremental: NEW_ROWS rows appended (by another connection, as another replica would) after the verified head.
watch = newWatch(3_600_000); // a full pass first, then incremental ones
await watch.pass(); // the first pass is full
for (let round = 1; round <= 3; round++) {
  head = insertRows(head, NEW_ROWS);
  await measure(`[${round}] trail watch, incremental pass`, NEW_ROWS, () => watch.pass());
  if (watch.status().verified?.seq !== head.seq || watch.status().passes.incremental_ok !== round)
    throw new Error('the incremental pass did not reach the head');
}
await store.close();
if (failures.length) throw new Error(`unexpected failures: ${JSON.stringify(failures)}`);
rmSync(dir, { recursive: true, force: true });
