import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canonicalSegments } from './chain-hash.js';
import { makeEntry, makeTempDir } from './index.test-support.js';
import type { TempDir } from './index.test-support.js';
import { startSqliteWorker } from './sqlite-worker-link.js';
import type { WorkerLink } from './sqlite-worker-link.js';
import type { WorkerFailure } from './sqlite-worker.js';

describe('the link to the SQLite writer thread', () => {
  let dir: TempDir;
  let link: WorkerLink;
  beforeEach(async () => {
    dir = makeTempDir();
    link = await startSqliteWorker({ file: join(dir.path, 'trail.sqlite'), readonly: false, busyTimeoutMs: 1000, outageWaitMs: 25 });
  });
  afterEach(async () => {
    await link.close();
    dir.remove();
  });

  const append = (n: number) => link.request<string>({ op: 'append', segments: canonicalSegments(makeEntry(n)), deadline: Date.now() + 1000 });

  it('answers each request of one tick (sent as one message), chained in order', async () => {
    const rows = await Promise.all([append(1), append(2), append(3)]);
    expect(rows.map((json) => (JSON.parse(json) as { seq: number }).seq)).toEqual([1, 2, 3]);
    expect(await link.request<{ seq: number }>({ op: 'head' })).toEqual(expect.objectContaining({ seq: 3 }));
  });

  it('sends a request made while others wait with the rest of its turn of the event loop, as one message', async () => {
    const holder = new Database(join(dir.path, 'trail.sqlite'));
    holder.exec('BEGIN EXCLUSIVE'); // the first append waits for the lock, so the next two are made while it waits
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const first = append(1);
      await new Promise((resolve) => setImmediate(resolve));
      // Two separate callbacks of one turn (as two sessions' requests arriving together): one message for both.
      const later = await new Promise<Array<Promise<string>>>((resolve) => {
        const made: Array<Promise<string>> = [];
        setImmediate(() => made.push(append(2)));
        setImmediate(() => resolve([...made, append(3)]));
      });
      holder.exec('ROLLBACK');
      const rows = await Promise.all([first, ...later]);
      expect(rows.map((json) => (JSON.parse(json) as { seq: number }).seq)).toEqual([1, 2, 3]);
      const shapes = posted.mock.calls.map(([message]) => (Array.isArray(message) ? message.map((m: { op: string }) => m.op) : (message as { op: string }).op));
      expect(shapes).toEqual(['append', ['append', 'append']]);
    } finally {
      posted.mockRestore();
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('sends a lone request at the end of its tick, without waiting for the turn', async () => {
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const row = append(1);
      await Promise.resolve(); // the tick's microtasks: the message is posted by now
      await Promise.resolve();
      expect(posted).toHaveBeenCalledTimes(1);
      expect((JSON.parse(await row) as { seq: number }).seq).toBe(1);
    } finally {
      posted.mockRestore();
    }
  });

  it('fails a request the thread cannot receive, with its tick, and keeps serving', async () => {
    const unsendable = { op: 'append', segments: [() => 'x', '', '', ''], deadline: Date.now() + 1000 } as unknown as Parameters<WorkerLink['request']>[0];
    const failure = (await link.request(unsendable).catch((e: unknown) => e)) as WorkerFailure;
    expect(failure.code).toBe('CUSTOS_UNSENDABLE');
    expect((JSON.parse(await append(1)) as { seq: number }).seq).toBe(1);
  });
});
