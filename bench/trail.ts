/**
 * A generated SQLite trail for benchmarks: 500 users, 40 agents, 60 tools, a tenth denied, a
 * fifth with a redaction, rows 50 ms apart ending now, chained as the store chains them
 * (`chainRecord`) and inserted in batches of 10 000 rows per transaction into the file the store
 * made (the store port's one-row appends would take most of an hour on a loaded machine). The
 * store then reads its head to check it.
 */
import Database from 'better-sqlite3';
import { createAuditStore } from '../src/audit/index.js';
import { chainRecord } from '../src/audit/chain-hash.js';
import { AUDIT_SCHEMA } from '../src/kernel/index.js';
import type { AuditEntry } from '../src/kernel/index.js';

function entry(i: number, start: number): AuditEntry {
  const denied = i % 10 === 0;
  const tool = `tool_${i % 60}`;
  return {
    schema: AUDIT_SCHEMA,
    event: denied ? 'deny' : 'intent',
    time: new Date(start + i * 50).toISOString(),
    request_id: `bench-${i}`,
    kind: 'tool',
    user: { sub: `user${i % 500}`, email: `user${i % 500}@example.test`, tenant: 'general-hospital' },
    agent: { name: `agent-${i % 40}`, tier: i % 3 === 0 ? 'background' : 'interactive', delegation_chain: [`agent-${i % 40}`] },
    tool: { server: 'filesystem', name: tool },
    data_classes: i % 7 === 0 ? ['phi'] : [],
    policy: {
      decision: denied ? 'deny' : 'allow',
      bundle_hash: 'b'.repeat(64),
      determining_policies: ['bench-policy'],
      reasons: denied ? ['policy_denied'] : [],
    },
    input: { redacted: { path: `records/patient-${i % 5000}.md` }, sha256: 'a'.repeat(64) },
    redactions: { count: i % 5 === 0 ? 1 : 0, types: i % 5 === 0 ? ['ssn'] : [] },
  } as AuditEntry;
}

const BATCH = 10_000;

/**
 * Appends `rows` generated rows to the SQLite trail in `file` (made if absent), continuing its
 * chain; the whole trail, old rows and new, ends `endMs` (default now). Returns the seconds taken.
 */
export async function generateTrail(file: string, rows: number, endMs = Date.now()): Promise<number> {
  const started = performance.now();
  const made = await createAuditStore(`sqlite:${file}`); // the store makes its tables
  let prev = await made.head();
  await made.close();
  const from = prev.seq + 1;
  const to = prev.seq + rows;
  const start = endMs - to * 50;
  const db = new Database(file);
  const insert = db.prepare('INSERT INTO audit_records (seq, hash, record) VALUES (?, ?, ?)');
  const batch = db.transaction((a: number, b: number) => {
    for (let i = a; i <= b; i += 1) {
      const { record, json } = chainRecord(entry(i, start), prev);
      insert.run(record.seq, record.hash, json);
      prev = record;
    }
  });
  for (let i = from; i <= to; i += BATCH) batch(i, Math.min(to, i + BATCH - 1));
  db.close();
  const store = await createAuditStore(`sqlite:${file}`);
  const head = await store.head();
  await store.close();
  if (head.seq !== to || head.hash !== prev.hash) throw new Error(`the generated trail's head is ${head.seq}, not ${to}`);
  return (performance.now() - started) / 1000;
}
