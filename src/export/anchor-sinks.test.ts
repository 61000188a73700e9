/**
 * The external anchors: a write-once directory and an S3-compatible bucket (s3rver, a real
 * local S3 server that checks SigV4 signatures), each down or refusing first and then up;
 * only checkpoint rows are anchored, each once, never overwritten.
 */
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryAudit, makeEntry, makeTempDir } from '../audit/index.test-support.js';
import { canonicalize } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { createFileCursorStore } from './cursor.js';
import { startTestS3 } from './s3.test-support.js';
import type { TestS3 } from './s3.test-support.js';
import { createSinkRunner } from './runner.js';
import { createSink } from './service.js';
import { anchorObjectName, readDirectoryAnchor, readS3Anchor } from './sinks/anchor-sinks.js';
import { putObject, signS3Request } from './sinks/s3-client.js';
import type { S3SinkSettings } from './types.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const common = { format: 'jsonl' as const, batchSize: 4, timeoutMs: 5000, events: ['checkpoint'] };

/** A trail of 12 rows of which 4, 8 and 12 are checkpoint rows. */
async function trailWithCheckpoints() {
  const store = createMemoryAudit();
  for (let i = 1; i <= 12; i += 1) {
    const checkpoint = { tree_size: i - 1, root_hash: 'a'.repeat(64), key_id: 'k', signature: 's' };
    await store.append(i % 4 === 0 ? makeEntry(i, { event: 'checkpoint', checkpoint }) : makeEntry(i));
  }
  return store;
}

async function startS3(): Promise<TestS3> {
  const s3 = await startTestS3(['anchors']);
  cleanups.push(() => s3.close());
  return s3;
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('directory anchor', () => {
  it('writes each checkpoint row once, read-only, named by seq; other rows are skipped', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const anchorDir = path.join(dir.path, 'anchor');
    const store = await trailWithCheckpoints();
    const sink = createSink({ ...common, type: 'directory', name: 'anchor', path: anchorDir });
    const rows = store.rows as AuditRecord[];
    await sink.deliver(rows.slice(0, 8));
    await sink.deliver(rows.slice(4, 12)); // a redelivery (at-least-once): the same bytes, accepted
    expect(readdirSync(anchorDir).sort()).toEqual(['checkpoint-000000000004.json', 'checkpoint-000000000008.json', 'checkpoint-000000000012.json']);
    const file = path.join(anchorDir, 'checkpoint-000000000008.json');
    expect(readFileSync(file, 'utf8')).toBe(`${canonicalize(rows[7])}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o444);
    expect(readDirectoryAnchor(anchorDir).records.map((r) => r.seq)).toEqual([4, 8, 12]);
  });

  it('never overwrites an anchored object: a different row under the same seq is anchor_conflict', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const rows = (await trailWithCheckpoints()).rows as AuditRecord[];
    const sink = createSink({ ...common, type: 'directory', name: 'anchor', path: dir.path });
    await sink.deliver([rows[3]!]);
    const forged = { ...rows[3]!, hash: 'f'.repeat(64) };
    await expect(sink.deliver([forged])).rejects.toMatchObject({ code: 'ERR_EXPORT_DELIVERY_FAILED', detail: { reason: 'anchor_conflict' } });
    expect(readFileSync(path.join(dir.path, anchorObjectName(rows[3]!)), 'utf8')).toBe(`${canonicalize(rows[3])}\n`);
  });

  it('a directory it cannot write is a failed delivery (write_failed), retried from the cursor', async () => {
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const anchorDir = path.join(dir.path, 'ro');
    const sink = createSink({ ...common, type: 'directory', name: 'anchor', path: anchorDir });
    writeFileSync(path.join(anchorDir, anchorObjectName({ seq: 4, event: 'checkpoint' })), 'not this row\n');
    chmodSync(anchorDir, 0o555);
    cleanups.push(() => chmodSync(anchorDir, 0o755));
    const rows = (await trailWithCheckpoints()).rows as AuditRecord[];
    await expect(sink.deliver(rows.slice(0, 4))).rejects.toMatchObject({ code: 'ERR_EXPORT_DELIVERY_FAILED' });
  });
});

describe('SigV4 signing: the known answers of the AWS S3 documentation', () => {
  const EXAMPLE = {
    endpoint: 'https://examplebucket.s3.amazonaws.com',
    region: 'us-east-1',
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  };
  const AT = new Date('2013-05-24T00:00:00Z');
  const signatureOf = (r: { headers: Record<string, string> }): string | undefined => /Signature=([0-9a-f]{64})$/.exec(r.headers['authorization']!)?.[1];

  it('GET Object with a Range header', () => {
    const signed = signS3Request(EXAMPLE, 'GET', '/test.txt', {}, '', { Range: 'bytes=0-9' }, AT);
    expect(signatureOf(signed)).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('GET Bucket (list objects) with a query', () => {
    const signed = signS3Request(EXAMPLE, 'GET', '/', { 'max-keys': '2', prefix: 'J' }, '', {}, AT);
    expect(signatureOf(signed)).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });
});

describe('S3 anchor (s3rver behind a SigV4 check)', () => {
  it('the bucket down, then up: every checkpoint row anchored once, in seq order; objects read back', async () => {
    const s3 = await startS3();
    const settings: S3SinkSettings = {
      ...common,
      type: 's3',
      name: 'bucket',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'anchors',
      prefix: 'custos/test/',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    };
    const store = await trailWithCheckpoints();
    const dir = makeTempDir();
    cleanups.push(() => dir.remove());
    const runner = createSinkRunner({
      sink: createSink(settings),
      store,
      cursors: createFileCursorStore(dir.path),
      batchSize: 4,
      pollMs: 10,
      retry: { minMs: 10, maxMs: 50 },
    });
    runner.start();
    cleanups.push(() => runner.stop());
    await waitFor(async () => (await runner.status()).failures >= 2);
    expect(await runner.status()).toMatchObject({ cursor: 0, last_error: { code: 'ERR_EXPORT_DELIVERY_FAILED', reason: 'http_502' } });
    await s3.start();
    await waitFor(async () => (await runner.status()).cursor === 12);
    const anchored = await readS3Anchor(settings);
    expect(anchored.problems).toEqual([]);
    expect(anchored.records.map((r) => r.seq)).toEqual([4, 8, 12]);
    expect(anchored.records.map((r) => r.hash)).toEqual([4, 8, 12].map((s) => (store.rows as AuditRecord[])[s - 1]!.hash));
  });

  it('a wrong secret key is refused by the server (SigV4 checked): nothing is anchored', async () => {
    const s3 = await startS3();
    await s3.start();
    const loc = { endpoint: s3.endpoint, region: 'us-east-1', bucket: 'anchors', accessKeyId: 'S3RVER', secretAccessKey: 'not-the-key', timeoutMs: 5000 };
    await expect(putObject(loc, 'x.json', '{}')).rejects.toMatchObject({ detail: { reason: 'http_403' } });
    expect(s3.refused).toHaveLength(1);
    expect(await readS3Anchor({ ...common, ...loc, type: 's3', name: 'b', prefix: '', secretAccessKey: 'S3RVER' })).toEqual({ records: [], problems: [] });
  });

  it('a redelivered checkpoint finds its object: same bytes pass, other bytes are anchor_conflict', async () => {
    const s3 = await startS3();
    await s3.start();
    const rows = (await trailWithCheckpoints()).rows as AuditRecord[];
    const settings: S3SinkSettings = {
      ...common,
      type: 's3',
      name: 'b',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'anchors',
      prefix: '',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    };
    const sink = createSink(settings);
    await sink.deliver([rows[3]!]);
    await sink.deliver([rows[3]!]);
    await expect(sink.deliver([{ ...rows[3]!, hash: 'f'.repeat(64) }])).rejects.toMatchObject({ detail: { reason: 'anchor_conflict' } });
    expect((await readS3Anchor(settings)).records).toEqual([rows[3]]);
  });
});
