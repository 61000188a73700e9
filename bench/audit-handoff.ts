/**
 * `npm run bench -- audit-handoff`: the CPU of one durable append to a real SQLite store (temp
 * dir), split by thread: the main thread (building the canonical segments, the hand-off to the
 * writer thread, the reply, resolving the caller) against the rest of the process (the writer
 * thread: chaining, hashing, the INSERT, the commits). A row like the gateway benchmark's result
 * row (a 1 KiB output). BENCH_N appends (default 20 000) by BENCH_APPENDERS appenders at once
 * (comma-separated, default `1,50`; one appender makes a tenth of BENCH_N, each its own commit);
 * BENCH_RUNS rounds (default 3). BENCH_BASELINE_ROOT=DIR (another built checkout, e.g. main's)
 * adds that build's store, interleaved round by round. BENCH_HANDOFF_SHAPES=1 runs instead the
 * hand-off alone (no SQLite: a thread that answers each id in one batch per turn, as the writer
 * does) with three shapes of the append message: the object (`op`, the four canonical segments,
 * deadline, id), one string, one transferred `Uint8Array`; CPU per message by thread.
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { canonicalSegments } from '../src/audit/chain-hash.js';
import { createAuditStore } from '../src/audit/index.js';
import type { AuditStoreAdmin } from '../src/audit/index.js';
import { makeTempDir } from '../src/audit/index.test-support.js';
import { AUDIT_SCHEMA } from '../src/kernel/index.js';
import type { AuditEntry } from '../src/kernel/index.js';
import { threadCpuMeter } from './cpu.js';

type CreateStore = (uri: string, options: { busyTimeoutMs: number }) => Promise<AuditStoreAdmin>;

const N = Number(process.env.BENCH_N ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const APPENDERS = (process.env.BENCH_APPENDERS ?? '1,50').split(',').map(Number);

/** A result row as the gateway benchmark writes it: a 1 KiB text file's content as the output. */
function resultEntry(i: number): AuditEntry {
  return {
    schema: AUDIT_SCHEMA,
    event: 'result',
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(),
    request_id: `0b6c2a4e-8f1d-4c3b-9a7e-${String(i).padStart(12, '0')}`,
    kind: 'tool',
    user: { sub: 'dana', iss: 'http://127.0.0.1:4000/', email: 'dana@example.com' },
    agent: { name: 'bench-client', tier: 'interactive', delegation_chain: ['user:dana', 'agent:bench-client', 'tool:fs/read_text_file'] },
    tool: { server: 'fs', name: 'read_text_file', classes: ['read'] },
    data_classes: [],
    policy: { decision: 'allow', bundle_hash: 'a'.repeat(64), determining_policies: ['policy0'], reasons: [] },
    output: { redacted: { content: [{ type: 'text', text: 'lorem ipsum dolor sit amet '.repeat(38) }] }, sha256: 'c'.repeat(64) },
    redactions: { count: 0, types: [] },
    trace_id: 'f'.repeat(32),
  } as unknown as AuditEntry;
}

interface Measure {
  readonly mainUs: number;
  readonly otherUs: number;
  readonly rowsPerSec: number;
}

async function measure(create: CreateStore, dir: string, label: string, appenders: number, n: number): Promise<Measure> {
  const store = await create(`sqlite:${path.join(dir, `${label}-${appenders}-${Math.random().toString(36).slice(2)}.sqlite`)}`, { busyTimeoutMs: 60_000 });
  for (let i = 0; i < 200; i++) await store.append(resultEntry(i)); // warm-up
  let next = 0;
  const cpu = threadCpuMeter();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      while (next < n) await store.append(resultEntry(next++));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const { totalMs, mainMs } = cpu.stop();
  await store.close();
  return { mainUs: (mainMs * 1000) / n, otherUs: ((totalMs - mainMs) * 1000) / n, rowsPerSec: n / seconds };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The echo thread of the shapes part: takes each message's id, answers all of a turn's ids in one batch. */
const ECHO_SOURCE = `
const { parentPort } = require('node:worker_threads');
const decoder = new TextDecoder();
let ids = [];
parentPort.on('message', (m) => {
  let id;
  if (typeof m === 'string') id = Number(m.slice(0, m.indexOf('\\u0000')));
  else if (m instanceof Uint8Array) { const text = decoder.decode(m); id = Number(text.slice(0, text.indexOf('\\u0000'))); }
  else id = m.id;
  if (ids.push(id) === 1) setImmediate(() => { const b = ids; ids = []; parentPort.postMessage({ batch: b.map((i) => [i, '{}']) }); });
});`;

type Shape = 'object' | 'string' | 'bytes';

async function handoffShapes(): Promise<void> {
  const worker = new Worker(ECHO_SOURCE, { eval: true });
  const segments = canonicalSegments(resultEntry(1));
  const encoder = new TextEncoder();
  const waiting = new Map<number, () => void>();
  worker.on('message', (m: { batch: Array<[number, string]> }) => {
    for (const [id] of m.batch) waiting.get(id)?.();
  });
  let nextId = 1;
  const post: Record<Shape, (id: number) => void> = {
    object: (id) => worker.postMessage({ op: 'append', segments, deadline: Date.now() + 250, written: true, id }),
    string: (id) => worker.postMessage(`${id}\u0000${Date.now() + 250}\u00001\u0000${segments.join('\u0000')}`),
    bytes: (id) => {
      const bytes = encoder.encode(`${id}\u0000${Date.now() + 250}\u00001\u0000${segments.join('\u0000')}`);
      worker.postMessage(bytes, [bytes.buffer]);
    },
  };
  const send = (shape: Shape): Promise<void> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, () => {
        waiting.delete(id);
        resolve();
      });
      post[shape](id);
    });
  console.log(
    `hand-off shapes (no SQLite), ${N} messages per round by 50 senders at once, ${RUNS} rounds, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
  );
  const results = new Map<Shape, Array<[number, number]>>();
  for (let r = 0; r < RUNS; r++) {
    for (const shape of ['object', 'string', 'bytes'] as const) {
      let sent = 0;
      const cpu = threadCpuMeter();
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (sent++ < N) await send(shape);
        }),
      );
      const { totalMs, mainMs } = cpu.stop();
      results.set(shape, [...(results.get(shape) ?? []), [(mainMs * 1000) / N, ((totalMs - mainMs) * 1000) / N]]);
    }
  }
  await worker.terminate();
  console.log('| shape | main thread µs per message | other threads µs per message | (main thread per run) |');
  console.log('|---|---|---|---|');
  for (const [shape, ms] of results) {
    console.log(
      `| ${shape} | ${median(ms.map((m) => m[0])).toFixed(1)} | ${median(ms.map((m) => m[1])).toFixed(1)} | ${ms.map((m) => m[0].toFixed(1)).join(', ')} |`,
    );
  }
}

export async function run(): Promise<void> {
  if (process.env.BENCH_HANDOFF_SHAPES === '1') return handoffShapes();
  const builds: Array<[string, CreateStore]> = [['this build', createAuditStore as CreateStore]];
  const baseRoot = process.env.BENCH_BASELINE_ROOT;
  if (baseRoot) {
    const base = (await import(pathToFileURL(path.join(baseRoot, 'dist/audit/index.js')).href)) as { createAuditStore: CreateStore };
    builds.push([`baseline (${baseRoot})`, base.createAuditStore]);
  }
  console.log(
    `audit hand-off: ${N} appends per round (one appender: ${N / 10}), ${RUNS} rounds, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
  );
  const dir = makeTempDir();
  const results = new Map<string, Measure[]>();
  try {
    for (let r = 0; r < RUNS; r++) {
      for (const appenders of APPENDERS) {
        const order = r % 2 === 0 ? builds : [...builds].reverse();
        for (const [label, create] of order) {
          const m = await measure(create, dir.path, label.replace(/\W/g, ''), appenders, appenders === 1 ? N / 10 : N);
          const key = `${label}\0${appenders}`;
          results.set(key, [...(results.get(key) ?? []), m]);
        }
      }
    }
  } finally {
    dir.remove();
  }
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
  );
  console.log('| build | appenders | main thread µs per append | other threads µs per append | rows/s | (main thread per run) |');
  console.log('|---|---|---|---|---|---|');
  for (const [key, ms] of results) {
    const [label, appenders] = key.split('\0');
    console.log(
      `| ${label} | ${appenders} | ${median(ms.map((m) => m.mainUs)).toFixed(1)} | ${median(ms.map((m) => m.otherUs)).toFixed(1)} | ${median(ms.map((m) => m.rowsPerSec)).toFixed(0)} | ${ms.map((m) => m.mainUs.toFixed(1)).join(', ')} |`,
    );
  }
}
