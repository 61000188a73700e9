/**
 * SIEM export end to end: a real Custos (real identity provider, real filesystem MCP server,
 * the official SDK client) with a webhook sink and a Splunk HEC sink whose receivers are down
 * while calls are made, then come up; and an OCSF file sink. Every row of the trail arrives at
 * each, none missing, in seq order, and the webhook's copy re-verifies as a chain.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/index.js';
import { readCursor } from '../../src/export/index.js';
import { reservePort, startHecReceiver, startWebhookReceiver } from '../../src/export/index.test-support.js';
import type { Receiver } from '../../src/export/index.test-support.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('SIEM sinks on a running Custos', () => {
  let h: Harness;
  let hookPort: number;
  let hecPort: number;
  const receivers: Receiver[] = [];
  beforeAll(async () => {
    hookPort = await reservePort();
    hecPort = await reservePort();
    process.env['CUSTOS_E2E_HOOK_KEY'] = 'e2e-hmac-key';
    process.env['CUSTOS_E2E_HEC_TOKEN'] = 'e2e-hec-token';
    h = await startHarness({
      configure: (raw) => ({
        ...raw,
        export: {
          stateDir: './export-state',
          pollMs: 50,
          retry: { minMs: 50, maxMs: 200 },
          sinks: [
            { type: 'webhook', name: 'hook', url: `http://127.0.0.1:${hookPort}/custos`, secret: 'env:CUSTOS_E2E_HOOK_KEY', batchSize: 3 },
            { type: 'splunk_hec', name: 'splunk', url: `http://127.0.0.1:${hecPort}`, token: 'env:CUSTOS_E2E_HEC_TOKEN', format: 'ocsf' },
            { type: 'file', name: 'archive', path: './siem/audit.ocsf.jsonl', format: 'ocsf' },
          ],
        },
      }),
    });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await h?.close();
    delete process.env['CUSTOS_E2E_HOOK_KEY'];
    delete process.env['CUSTOS_E2E_HEC_TOKEN'];
  });

  it('delivers every row, in seq order, to receivers that were down while the calls were made', async () => {
    const client = await h.connect(await h.token('alice'));
    for (const file of ['notes/handbook.md', 'phi/patient-0002.md']) {
      await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, file) } });
    }
    const rows = await h.auditRecords();
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const all = rows.map((r) => r.seq);
    // The file sink is up all along.
    const file = path.join(h.dir, 'siem/audit.ocsf.jsonl');
    await waitFor(() => {
      try {
        return readFileSync(file, 'utf8').trim().split('\n').length >= all.length;
      } catch {
        return false;
      }
    });
    const events = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class_uid: number; metadata: { sequence: number } });
    expect(events.map((e) => e.metadata.sequence)).toEqual(all);
    expect(events.every((e) => e.class_uid === 6003)).toBe(true);

    // While down, the sinks retry and their cursors stay at 0 with the failure recorded.
    const stateDir = path.join(h.dir, 'export-state');
    await waitFor(() => readCursor(stateDir, 'hook').failures >= 2 && readCursor(stateDir, 'splunk').failures >= 2);
    expect(readCursor(stateDir, 'hook')).toMatchObject({ seq: 0, last_error: { reason: 'unreachable' } });
    const hook = await startWebhookReceiver(hookPort, 'e2e-hmac-key');
    const hec = await startHecReceiverOcsf(hecPort);
    receivers.push(hook, hec);
    await waitFor(() => hook.seqs.length >= all.length && hec.seqs.length >= all.length);
    expect(hook.seqs.slice(0, all.length)).toEqual(all);
    expect(hec.seqs.slice(0, all.length)).toEqual(all);
    expect(hook.refused).toEqual([]);
    await waitFor(() => readCursor(stateDir, 'hook').seq >= rows.at(-1)!.seq);
    expect(readCursor(stateDir, 'hook')).toMatchObject({ failures: 0, hash: rows.at(-1)!.hash });
    // The SIEM's copy is the chain itself: it re-verifies from genesis.
    const report = await verifyChain(hook.payloads.slice(0, all.length) as never);
    expect(report).toMatchObject({ ok: true, count: all.length, head: { seq: rows.at(-1)!.seq, hash: rows.at(-1)!.hash } });
  });
});

/** The HEC receiver reads `event.seq`; with OCSF events the seq is `metadata.sequence`. */
async function startHecReceiverOcsf(port: number): Promise<Receiver> {
  return startHecReceiver(port, 'e2e-hec-token', (event) => (event as { metadata: { sequence: number } }).metadata.sequence);
}
