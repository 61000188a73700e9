/**
 * `npm run bench -- audit-store`: durable audit appends on a local disk (WAL,
 * synchronous=FULL, one fsync per commit), the old synchronous path against the writer
 * thread with group commit, sequential and with 50 concurrent appenders. Also the event
 * loop's worst stall during the run: the old path blocks it for every fsync.
 *
 * The old path is reproduced here as it was (better-sqlite3 on the main thread, one
 * BEGIN IMMEDIATE ... COMMIT per append) so both run in the same conditions.
 *
 * Encryption's cost: the same store with rows sealed (AES-256-GCM envelope, a registry key),
 * for appends and for reading the trail back (every row opened), side by side with clear rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { RecordKeys } from '../src/audit/index.js';
import { createSqliteAuditStore } from '../src/audit/sqlite-store.js';
import { createKeyRegistry, recordKeysOf } from '../src/keys/index.js';
import { chainRecord } from '../src/audit/chain-hash.js';
import { makeEntry } from '../src/audit/index.test-support.js';
import { GENESIS_HASH } from '../src/kernel/index.js';
import type { AuditEntry } from '../src/kernel/index.js';
import { formatMs, summarize } from './stats.js';

const N = Number(process.env.BENCH_N ?? 2000);
const WRITERS = 50;

interface Appender {
  append(entry: AuditEntry): Promise<unknown>;
  close(): Promise<void>;
  commits?(): Promise<number>;
}

function openOldSyncStore(file: string): Appender {
  const db = new Database(file, { timeout: 250 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS audit_records (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, record TEXT NOT NULL) STRICT');
  const last = db.prepare('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1');
  const insert = db.prepare('INSERT INTO audit_records (seq, hash, record) VALUES (?, ?, ?)');
  const tx = db.transaction((entry: AuditEntry) => {
    const prev = (last.get() as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: GENESIS_HASH };
    const { record, json } = chainRecord(entry, prev);
    insert.run(record.seq, record.hash, json);
  });
  let commits = 0;
  return {
    async append(entry) {
      tx.immediate(entry);
      commits++;
    },
    async close() {
      db.close();
    },
    commits: async () => commits,
  };
}

async function openNewStore(file: string, keys?: RecordKeys): Promise<Appender & { readAll(): Promise<number> }> {
  const store = await createSqliteAuditStore(`sqlite:${file}`, { busyTimeoutMs: 5000, ...(keys ? { keys } : {}) });
  return {
    append: (e) => store.append(e),
    close: () => store.close(),
    commits: async () => (await store.stats()).commits,
    async readAll() {
      let n = 0;
      for await (const _ of store.read()) n += 1;
      return n;
    },
  };
}

const SEALING_KEYS = recordKeysOf(createKeyRegistry([{ id: 'bench', use: 'encrypt', material: randomBytes(32).toString('base64') }]), 'bench');
const openSealedStore = (file: string): ReturnType<typeof openNewStore> => openNewStore(file, SEALING_KEYS);

/** Reads the whole trail back (every row parsed; sealed rows opened): rows per second, best of 3. */
async function measureRead(label: string, open: (file: string) => ReturnType<typeof openNewStore>): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-bench-audit-'));
  const store = await open(path.join(dir, 'audit.sqlite'));
  try {
    const entry = makeEntry(2);
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let i = 0; i < (N * 5) / WRITERS; i++) await store.append(entry);
      }),
    );
    let best = 0;
    for (let round = 0; round < 3; round++) {
      const started = process.hrtime.bigint();
      const rows = await store.readAll();
      best = Math.max(best, rows / (Number(process.hrtime.bigint() - started) / 1e9));
    }
    return `| ${label} | ${N * 5} | ${Math.round(best)} /s |`;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The longest the event loop went without turning (a 1 ms ticker's largest gap, the last one included). */
function watchEventLoop(): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(worst, performance.now() - last);
    },
  };
}

async function measure(label: string, open: (file: string) => Promise<Appender> | Appender, writers: number): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-bench-audit-'));
  const store = await open(path.join(dir, 'audit.sqlite'));
  const entry = makeEntry(1);
  try {
    for (let i = 0; i < 100; i++) await store.append(entry); // warm
    const before = (await store.commits?.()) ?? 0;
    const samples: number[] = [];
    const loop = watchEventLoop();
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = 0; i < N / writers; i++) {
          const t0 = process.hrtime.bigint();
          await store.append(entry);
          samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const stall = loop.stop();
    const commits = ((await store.commits?.()) ?? 0) - before;
    const s = summarize(samples);
    return `| ${label} | ${writers} | ${Math.round(N / seconds)} /s | ${formatMs(s.p50)} | ${formatMs(s.p99)} | ${(N / commits).toFixed(1)} | ${formatMs(stall)} |`;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const lines = [
    `Durable audit appends, ${N} per run, on ${tmpdir()} (fsync per commit)`,
    '',
    '| store | appenders | appends/s | p50 | p99 | rows per commit | worst event-loop stall |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const writers of [1, WRITERS]) {
    lines.push(await measure('old: synchronous, main thread', openOldSyncStore, writers));
    lines.push(await measure('new: writer thread, group commit', (f) => openNewStore(f), writers));
    lines.push(await measure('new, rows sealed (AES-256-GCM)', openSealedStore, writers));
  }
  lines.push('', 'Reading the trail back (read(): every row parsed, sealed rows opened)', '', '| store | rows | rows/s |', '|---|---|---|');
  lines.push(await measureRead('clear rows', (f) => openNewStore(f)));
  lines.push(await measureRead('rows sealed (AES-256-GCM)', openSealedStore));
  console.log(lines.join('\n'));
}
