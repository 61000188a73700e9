import { describe, expect, it } from 'vitest';
import { canonicalize } from '../kernel/index.js';
import { createAuditStore, exportJsonl, verifyChain } from './index.js';
import { collect, makeEntry } from './index.test-support.js';

describe('exportJsonl', () => {
  it('writes one canonical record per line in seq order, and the lines verify', async () => {
    const store = await createAuditStore('sqlite::memory:');
    for (let i = 1; i <= 1200; i++) await store.append(makeEntry(i)); // more than one read page
    const records = await collect(store.read());
    const lines: string[] = [];
    const result = await exportJsonl(store, (line) => {
      lines.push(line);
    });
    expect(result).toEqual({ count: 1200, head: { seq: 1200, hash: records[1199]!.hash } });
    expect(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
    expect(lines.map((l) => l.slice(0, -1))).toEqual(records.map((r) => canonicalize(r)));
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(records);
    expect(await verifyChain(lines.map((l) => l.slice(0, -1)))).toMatchObject({ ok: true, count: 1200 });
    await store.close();
  });

  it('exports a seq range and waits for an asynchronous writer', async () => {
    const store = await createAuditStore('sqlite::memory:');
    for (let i = 1; i <= 10; i++) await store.append(makeEntry(i));
    const seen: number[] = [];
    let pending = 0;
    const result = await exportJsonl(
      store,
      async (line) => {
        pending += 1;
        expect(pending).toBe(1); // the next line is not written before this one settles
        await new Promise((r) => setTimeout(r, 1));
        seen.push((JSON.parse(line) as { seq: number }).seq);
        pending -= 1;
      },
      { fromSeq: 4, toSeq: 7 },
    );
    expect(seen).toEqual([4, 5, 6, 7]);
    expect(result.count).toBe(4);
    const fromSuffix = await collect(store.read({ fromSeq: 4, limit: 4 }));
    expect(await verifyChain(fromSuffix, { after: { seq: 3, hash: fromSuffix[0]!.prev_hash } })).toMatchObject({ ok: true, count: 4 });
    expect(await exportJsonl(store, () => undefined, { fromSeq: 11 })).toEqual({ count: 0 });
    await store.close();
  });
});
