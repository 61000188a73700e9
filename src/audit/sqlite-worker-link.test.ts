import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

  it('fails a request the thread cannot receive, with its tick, and keeps serving', async () => {
    const unsendable = { op: 'append', segments: [() => 'x', '', '', ''], deadline: Date.now() + 1000 } as unknown as Parameters<WorkerLink['request']>[0];
    const failure = (await link.request(unsendable).catch((e: unknown) => e)) as WorkerFailure;
    expect(failure.code).toBe('CUSTOS_UNSENDABLE');
    expect((JSON.parse(await append(1)) as { seq: number }).seq).toBe(1);
  });
});
