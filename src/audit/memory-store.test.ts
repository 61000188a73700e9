import { describe, expect, it } from 'vitest';
import { collect, createMemoryAudit, makeEntry } from './index.test-support.js';
import { verifyChain } from './index.js';

describe('the in-memory audit store shared by unit tests', () => {
  it('chains rows as the real stores do, so the trail verifies', async () => {
    const audit = createMemoryAudit();
    for (let n = 1; n <= 4; n++) await audit.append(makeEntry(n));
    expect(audit.rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(await verifyChain(audit.rows)).toMatchObject({ ok: true, count: 4 });
    audit.rows[1] = { ...audit.rows[1]!, request_id: 'forged' };
    expect(await verifyChain(audit.rows)).toMatchObject({ ok: false, firstBrokenSeq: 2 });
  });

  it('refuses an entry that is not custos.audit/v1 and fills an empty time from its clock', async () => {
    const audit = createMemoryAudit({ now: () => new Date('2026-01-01T00:00:00Z') });
    await expect(audit.append({ ...makeEntry(1), schema: 'other' } as never)).rejects.toMatchObject({
      code: 'ERR_AUDIT_UNAVAILABLE',
      detail: { reason: 'invalid_entry' },
    });
    expect((await audit.append({ ...makeEntry(1), time: '' })).time).toBe('2026-01-01T00:00:00.000Z');
  });

  it('rejects appends while failing, as a full disk would, and keeps nothing', async () => {
    const audit = createMemoryAudit();
    audit.failing = true;
    await expect(audit.append(makeEntry(1))).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE', detail: { reason: 'disk_full' } });
    expect(audit.rows).toEqual([]);
  });

  it('reads from a seq, up to a limit', async () => {
    const audit = createMemoryAudit();
    for (let n = 1; n <= 5; n++) await audit.append(makeEntry(n));
    expect((await collect(audit.read({ fromSeq: 2, limit: 2 }))).map((r) => r.seq)).toEqual([2, 3]);
    expect(await collect(audit.read())).toHaveLength(5);
  });
});
