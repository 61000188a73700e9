import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryAudit, makeEntry, makeTempDir } from '../audit/index.test-support.js';
import type { TempDir } from '../audit/index.test-support.js';
import type { AuditRecord } from '../kernel/index.js';
import { createFileCursorStore, readCursor } from './cursor.js';
import { deliveryFailed } from './format.js';
import { createSinkRunner } from './runner.js';
import { createFileSink } from './sinks/file-sink.js';
import type { Sink } from './types.js';

let dir: TempDir;
afterEach(() => dir?.remove());

async function trail(n: number) {
  const store = createMemoryAudit();
  for (let i = 1; i <= n; i += 1) await store.append(makeEntry(i));
  return store;
}

/** A sink that is down while `down` is true, and records what it took. */
function flakySink() {
  const taken: AuditRecord[] = [];
  const sink: Sink & { down: boolean; taken: AuditRecord[] } = {
    name: 'flaky',
    type: 'webhook',
    down: true,
    taken,
    async deliver(batch) {
      if (sink.down) throw deliveryFailed('http_503');
      taken.push(...batch);
    },
    async close() {},
  };
  return sink;
}

describe('sink runner', () => {
  it('a sink that is down keeps its cursor and resumes with no gap; the cursor survives a restart', async () => {
    dir = makeTempDir();
    const store = await trail(7);
    const sink = flakySink();
    const cursors = createFileCursorStore(dir.path);
    const runner = createSinkRunner({ sink, store, cursors, batchSize: 3 });
    await expect(runner.runOnce()).rejects.toThrow();
    await expect(runner.runOnce()).rejects.toThrow();
    expect(await runner.status()).toMatchObject({ cursor: 0, failures: 2, state: 'retrying', last_error: { reason: 'http_503' } });
    expect(readCursor(dir.path, 'flaky')).toMatchObject({ seq: 0, failures: 2, last_error: { reason: 'http_503' } });
    sink.down = false;
    expect(await runner.runOnce()).toBe(3);
    expect(readCursor(dir.path, 'flaky')).toMatchObject({ seq: 3, hash: store.rows[2]!.hash, failures: 0 });
    // A new process (a new runner on the same state dir) carries on from seq 4.
    const again = createSinkRunner({ sink, store, cursors: createFileCursorStore(dir.path), batchSize: 3 });
    expect(await again.runOnce()).toBe(3);
    expect(await again.runOnce()).toBe(1);
    expect(await again.runOnce()).toBe(0);
    expect(sink.taken.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await again.status()).toMatchObject({ cursor: 7, lag: 0, failures: 0 });
    expect((await again.status()).last_error).toBeUndefined();
  });

  it('a crash after delivery and before the cursor moved re-sends the batch: duplicates carry the same seq', async () => {
    dir = makeTempDir();
    const store = await trail(4);
    const sink = flakySink();
    sink.down = false;
    const real = createFileCursorStore(dir.path);
    let crash = true;
    const cursors = {
      load: real.load,
      save: (c: Parameters<typeof real.save>[0]) => {
        if (crash && c.seq === 2) throw new Error('crash');
        real.save(c);
      },
    };
    await expect(createSinkRunner({ sink, store, cursors, batchSize: 2 }).runOnce()).rejects.toThrow('crash');
    crash = false;
    const restarted = createSinkRunner({ sink, store, cursors, batchSize: 2 });
    while ((await restarted.runOnce()) > 0);
    const seqs = sink.taken.map((r) => r.seq);
    expect(seqs).toEqual([1, 2, 1, 2, 3, 4]);
    expect([...new Set(seqs)]).toEqual([1, 2, 3, 4]);
  });

  it('refuses a cursor that does not name a row of this trail (a replaced trail), delivering nothing', async () => {
    dir = makeTempDir();
    const store = await trail(3);
    const cursors = createFileCursorStore(dir.path);
    cursors.save({ sink: 'flaky', seq: 2, hash: 'f'.repeat(64), updated_at: new Date().toISOString(), failures: 0 });
    const sink = flakySink();
    sink.down = false;
    const runner = createSinkRunner({ sink, store, cursors, batchSize: 10 });
    await expect(runner.runOnce()).rejects.toThrow();
    expect(sink.taken).toEqual([]);
    expect((await runner.status()).last_error?.reason).toBe('cursor_not_in_trail');
  });

  it('the loop retries with backoff until the destination is up, then delivers everything in order', async () => {
    dir = makeTempDir();
    const store = await trail(5);
    const sink = flakySink();
    const runner = createSinkRunner({ sink, store, cursors: createFileCursorStore(dir.path), batchSize: 2, pollMs: 10, retry: { minMs: 5, maxMs: 20 } });
    runner.start();
    await waitFor(async () => (await runner.status()).failures >= 3);
    sink.down = false;
    await store.append(makeEntry(6));
    await waitFor(async () => (await runner.status()).cursor === 6);
    await runner.stop();
    expect(sink.taken.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await runner.status()).state).toBe('stopped');
  });
});

describe('file sink', () => {
  it('appends one line per record and rotates before a batch would pass rotateBytes, keeping maxFiles', async () => {
    dir = makeTempDir();
    const store = await trail(16);
    const file = path.join(dir.path, 'out', 'audit.jsonl');
    const lineBytes = Buffer.byteLength(`${JSON.stringify(store.rows[0])}\n`);
    const sink = createFileSink({ type: 'file', name: 'files', format: 'jsonl', batchSize: 2, path: file, rotateBytes: lineBytes * 4 + 100, maxFiles: 2 });
    const runner = createSinkRunner({ sink, store, cursors: createFileCursorStore(dir.path), batchSize: 2 });
    while ((await runner.runOnce()) > 0);
    const names = readdirSync(path.dirname(file)).sort();
    expect(names).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']);
    const seqsOf = (f: string) =>
      readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).seq);
    // 16 records, 4 per file: the oldest file (seq 1-4) went past maxFiles and was removed.
    expect([seqsOf(`${file}.2`), seqsOf(`${file}.1`), seqsOf(file)]).toEqual([
      [5, 6, 7, 8],
      [9, 10, 11, 12],
      [13, 14, 15, 16],
    ]);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(JSON.stringify(JSON.parse(readFileSync(file, 'utf8').split('\n')[0]!)));
  });

  it('writes OCSF events when format is ocsf', async () => {
    dir = makeTempDir();
    const store = await trail(2);
    const file = path.join(dir.path, 'ocsf.jsonl');
    const sink = createFileSink({ type: 'file', name: 'ocsf', format: 'ocsf', batchSize: 10, path: file, rotateBytes: 1 << 20, maxFiles: 3 });
    await sink.deliver(store.rows);
    const events = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class_uid: number; metadata: { sequence: number } });
    expect(events.map((e) => [e.class_uid, e.metadata.sequence])).toEqual([
      [6003, 1],
      [6003, 2],
    ]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
