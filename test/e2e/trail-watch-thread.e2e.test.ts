/**
 * The trail watch of a running Custos verifies on its worker thread, which reads the SQLite trail
 * itself: the rows checked there (custos_trail_rows_checked_total{on="thread"}) reach the trail's
 * head, none is read on the main thread and handed over, and the main thread steps only the one
 * row each later full pass must reach.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

describe('the trail watch of a running Custos, on its own thread', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => ({ ...raw, monitor: { ...raw.monitor, trailWatch: { everySec: 1, fullEverySec: 2 } } }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('checks the rows on the thread, the main thread stepping at most one row per full pass', async () => {
    const client = await h.connect(await h.token('alice'));
    const r = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, 'notes/handbook.md') } });
    expect(r.isError).toBeFalsy();
    const head = (await h.auditRecords()).at(-1)!.seq;
    const metric = async (name: string): Promise<number> =>
      Number((await (await fetch(`${h.custos.url}/metrics`)).text()).match(new RegExp(`^${name} (\\d+)$`, 'm'))?.[1] ?? NaN);
    await vi.waitFor(async () => expect(await metric('custos_trail_verified_seq')).toBeGreaterThanOrEqual(head), { timeout: 30_000, interval: 200 });
    await vi.waitFor(async () => expect(await metric('custos_trail_verifications_total{scope="full",outcome="ok"}')).toBeGreaterThanOrEqual(2), {
      timeout: 30_000,
      interval: 200,
    });
    const onThread = await metric('custos_trail_rows_checked_total{on="thread"}');
    const onMain = await metric('custos_trail_rows_checked_total{on="main"}');
    expect(await metric('custos_trail_rows_checked_total{on="handed"}')).toBe(0); // the thread read the file: no row crossed from the main thread
    const fullPasses = await metric('custos_trail_verifications_total{scope="full",outcome="ok"}');
    expect(onThread).toBeGreaterThanOrEqual(head);
    expect(onMain).toBeLessThanOrEqual(fullPasses); // the expected head's row, once per full pass after the first
  });
});
