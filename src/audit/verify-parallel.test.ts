import { describe, expect, it } from 'vitest';
import { loadVerifyKeys } from './checkpoint.js';
import { makeSignedTrail } from './index.test-support.js';
import { hashRowLeaf } from './merkle.js';
import { verifyExport } from './verify-export.js';
import { checkChunkHere, verifyThreads } from './verify-parallel.js';

const { lines: LINES, publicPem } = makeSignedTrail(9500);
const keys = loadVerifyKeys([publicPem]);

describe('verification on worker threads', () => {
  it('a worker finds a chunk of sound rows clean, with their leaves and links; one changed byte makes it not clean', () => {
    const check = checkChunkHere(LINES.slice(100, 200));
    expect(check.clean).toBe(true);
    if (!check.clean) return;
    expect(check.first.seq).toBe(101);
    expect(check.last).toEqual({ seq: 200, hash: (JSON.parse(LINES[199]!) as { hash: string }).hash });
    expect(Buffer.from(check.leaves.subarray(0, 32))).toEqual(hashRowLeaf((JSON.parse(LINES[100]!) as { hash: string }).hash));
    expect(checkChunkHere(LINES.slice(100, 200).map((l, i) => (i === 50 ? l.replace('"allow"', '"deny"') : l))).clean).toBe(false);
    expect(checkChunkHere([...LINES.slice(100, 110), ...LINES.slice(111, 120)]).clean).toBe(false);
  });

  it('by default uses one thread per core, this one included, at most four', () => {
    expect([1, 2, 3, 8].map((cores) => verifyThreads(cores))).toEqual([1, 2, 3, 4]);
  });

  const cases: Record<string, (lines: string[]) => string[]> = {
    intact: (l) => l,
    'a changed field in the second chunk': (l) => l.map((x, i) => (i === 5000 ? x.replace('"allow"', '"deny"') : x)),
    'a row deleted at a chunk boundary': (l) => l.filter((_, i) => i !== 4096),
    'two rows swapped across a chunk boundary': (l) => [...l.slice(0, 4095), l[4096]!, l[4095]!, ...l.slice(4097)],
    'a row inserted': (l) => [...l.slice(0, 6000), l[5999]!, ...l.slice(6000)],
    'rows cut off the end': (l) => l.slice(0, 8190),
    'a changed field in the last, partial chunk': (l) => l.map((x, i) => (i === 9300 ? x.replace('"allow"', '"deny"') : x)),
    'the first line broken': (l) => ['{', ...l.slice(1)],
  };
  it.each(Object.entries(cases))('gives the report of the one-thread verifier: %s', async (_name, tamper) => {
    const lines = tamper(LINES);
    const checkpoint = (JSON.parse(LINES[8999]!) as { checkpoint: never }).checkpoint;
    const [one, threaded] = await Promise.all([verifyExport(lines, { keys, threads: 1, checkpoint }), verifyExport(lines, { keys, threads: 2, checkpoint })]);
    expect(threaded).toEqual(one);
    async function* stream(): AsyncIterable<string> {
      yield* lines;
    }
    expect(await verifyExport(stream(), { keys, threads: 2, checkpoint })).toEqual(one);
    if (_name === 'intact') expect(one).toMatchObject({ ok: true, rows: 9500, checkpoints: 10 });
    else expect(one.ok).toBe(false);
  });
});
