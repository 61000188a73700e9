import { describe, expect, it } from 'vitest';
import { loadVerifyKeys, verifyExport } from '../audit/index.js';
import type { RawRow } from '../audit/index.js';
import { makeSignedTrail } from '../audit/index.test-support.js';
import { verifyChainAndCheckpoints } from './verify-once.js';

/** A signed trail of 2,500 rows (checkpoints at 1000 and 2000) as a store reads it, its head, and its keys. */
function trail(): { rows: RawRow[]; head: { seq: number; hash: string }; keys: ReturnType<typeof loadVerifyKeys> } {
  const { lines, publicPem } = makeSignedTrail(2500);
  const rows = lines.map((json) => {
    const { seq, hash } = JSON.parse(json) as { seq: number; hash: string };
    return { seq, hash, json };
  });
  return { rows, head: { seq: rows.at(-1)!.seq, hash: rows.at(-1)!.hash }, keys: loadVerifyKeys([publicPem]) };
}

async function* readOf(rows: readonly RawRow[], failAfter = Infinity): AsyncGenerator<RawRow> {
  for (const [i, row] of rows.entries()) {
    if (i === failAfter) throw new Error('the store went away');
    yield row;
  }
}

describe('verifyChainAndCheckpoints (one read, two passes)', () => {
  it("gives the signed pass's report, the same as verifyExport over the same rows alone", async () => {
    const { rows, head, keys } = trail();
    const both = await verifyChainAndCheckpoints(readOf(rows), head, { keys });
    expect(both).toEqual({
      signed: await verifyExport(
        rows.map((r) => r.json),
        { keys },
      ),
    });
    expect(both).toMatchObject({ signed: { ok: true, rows: 2500, checkpoints: 2 } });
  });

  it("gives the chain's break when the head is not carried or not reached", async () => {
    const { rows, head, keys } = trail();
    expect(await verifyChainAndCheckpoints(readOf(rows), { seq: 2, hash: 'f'.repeat(64) }, { keys })).toMatchObject({
      broken: { ok: false, firstBrokenSeq: 2, reason: 'hash_mismatch', count: 1 },
    });
    expect(await verifyChainAndCheckpoints(readOf(rows.slice(0, 1500)), head, { keys })).toMatchObject({
      broken: { ok: false, firstBrokenSeq: 1501, reason: 'truncated', count: 1500 },
    });
  });

  it('throws a read that fails part-way (never a pass), without waiting for the signed pass forever', async () => {
    const { rows, head, keys } = trail();
    await expect(verifyChainAndCheckpoints(readOf(rows, 1200), head, { keys })).rejects.toThrow('the store went away');
  });
});
