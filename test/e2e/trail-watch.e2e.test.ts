/**
 * The running server verifies its own trail: a row of the SQLite trail edited behind Custos' back
 * (its triggers dropped, the row changed, the triggers put back, as an owner of the file can) is
 * found by the trail watch, which writes a `chain_verification_failed` alert naming the row's
 * seq, pushes it to the alert webhook and lists it at GET /v1/alerts.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { reservePort, startWebhookReceiver } from '../../src/export/index.test-support.js';
import type { Receiver } from '../../src/export/index.test-support.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

/** Changes one stored row's text in place, with the append-only triggers out of the way for that moment. */
function editRow(file: string, seq: number, from: string, to: string): void {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    const triggers = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_records'").pluck().all() as string[];
    expect(triggers).toHaveLength(2);
    db.transaction(() => {
      db.exec('DROP TRIGGER audit_records_no_update; DROP TRIGGER audit_records_no_delete;');
      const changed = db.prepare('UPDATE audit_records SET record = replace(record, ?, ?) WHERE seq = ?').run(from, to, seq);
      expect(changed.changes).toBe(1);
      for (const sql of triggers) db.exec(sql);
    })();
  } finally {
    db.close();
  }
}

describe('the trail watch in a running Custos', () => {
  let h: Harness;
  let webhook: Receiver;
  beforeAll(async () => {
    const port = await reservePort();
    process.env.CUSTOS_E2E_WATCH_SECRET = 'watch-hmac-secret';
    webhook = await startWebhookReceiver(port, 'watch-hmac-secret');
    h = await startHarness({
      configure: (raw) => ({
        ...raw,
        identity: { ...raw.identity, admin: { roles: ['clinician'] } }, // alice reads /v1/alerts
        monitor: {
          ...raw.monitor,
          trailWatch: { everySec: 1, fullEverySec: 2 },
          alerts: { sinks: [{ type: 'webhook', name: 'pager', url: `http://127.0.0.1:${port}/alerts`, secret: 'env:CUSTOS_E2E_WATCH_SECRET' }] },
        },
      }),
    });
  });
  afterAll(async () => {
    await h?.close();
    await webhook?.close();
  });

  it('verifies the intact trail, then finds a row changed in the file and raises chain_verification_failed naming its seq, once', async () => {
    const token = await h.token('alice');
    const client = await h.connect(token);
    for (const file of ['notes/handbook.md', 'notes/billing-codes.csv']) {
      const r = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, file) } });
      expect(r.isError).toBeFalsy();
    }
    const rows = await h.auditRecords();
    const target = rows.find((r) => r.event === 'intent' && r.user.sub === 'alice')!;
    // The watch has verified past the calls (a full pass, then suffixes): nothing wrong so far.
    const scrape = async () => (await (await fetch(`${h.custos.url}/metrics`)).text()).match(/^custos_trail_verified_seq (\d+)$/m)?.[1];
    await vi.waitFor(async () => expect(Number(await scrape())).toBeGreaterThanOrEqual(rows.at(-1)!.seq), { timeout: 30_000, interval: 200 });
    expect((await h.auditRecords()).filter((r) => r.event === 'alert')).toEqual([]);

    editRow(h.storeFile, target.seq, '"sub":"alice"', '"sub":"bobby"');

    const alertsNamingIt = async () =>
      (await h.auditRecords()).filter((r) => r.alert?.type === 'chain_verification_failed' && r.detail?.first_bad_seq === target.seq);
    await vi.waitFor(async () => expect(await alertsNamingIt()).toHaveLength(1), { timeout: 30_000, interval: 200 });
    const [alert] = await alertsNamingIt();
    expect(alert).toMatchObject({ alert: { severity: 'high' }, user: { sub: null }, detail: { reason: 'hash_mismatch', rule: 'chain_verification_failed' } });
    // The row lay before the head the watch had verified: the full pass found it, against that head.
    expect(alert!.detail).toMatchObject({ scope: 'full' });
    expect(alert!.detail?.verified_seq).toBeGreaterThanOrEqual(target.seq);

    // Delivered like every alert, and listed for the admins.
    await vi.waitFor(
      () =>
        expect(webhook.payloads).toContainEqual(
          expect.objectContaining({ seq: alert!.seq, alert: expect.objectContaining({ type: 'chain_verification_failed' }) }),
        ),
      {
        timeout: 10_000,
      },
    );
    const listed = await vi.waitFor(
      async () => {
        const res = await fetch(`${h.custos.url}/v1/alerts`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { alerts: Array<{ seq: number; type: string; detail?: Record<string, unknown> }> };
        const found = body.alerts.find((a) => a.seq === alert!.seq);
        expect(found).toBeDefined();
        return found!;
      },
      { timeout: 10_000, interval: 200 },
    );
    expect(listed).toMatchObject({ type: 'chain_verification_failed', detail: { first_bad_seq: target.seq } });

    // Further full passes find the same failure: no second alert.
    const metrics = async () => (await fetch(`${h.custos.url}/metrics`)).text();
    await vi.waitFor(async () => expect(await metrics()).toMatch(/custos_trail_verifications_total\{scope="full",outcome="failed"\} [2-9]/), {
      timeout: 30_000,
      interval: 250,
    });
    expect(await alertsNamingIt()).toHaveLength(1);
  });
});
