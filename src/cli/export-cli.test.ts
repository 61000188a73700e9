/** `custos audit export --format jsonl|ocsf --since SEQ|TIME` and `custos audit sinks`. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuditStore } from '../audit/index.js';
import { createFileCursorStore } from '../export/index.js';
import { canonicalize } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { intentEntry, runCliCaptured } from './cli.test-support.js';

async function writeTrail(dir: string, n: number): Promise<{ uri: string; records: AuditRecord[] }> {
  const uri = `sqlite:${path.join(dir, 'audit.sqlite')}`;
  const store = await createAuditStore(uri);
  const records: AuditRecord[] = [];
  for (let i = 1; i <= n; i++) {
    records.push(
      await store.append(
        intentEntry(i, { kind: 'tool', tool: { server: 'fs', name: 'read_file' }, input: { redacted: { path: '/x' }, sha256: 'b'.repeat(64) } }),
      ),
    );
  }
  await store.close();
  return { uri, records };
}

const cli = runCliCaptured;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the lines are arbitrary JSON
type JsonLine = Record<string, any>;

const seqsOf = (out: string, pick: (o: JsonLine) => number): number[] =>
  out
    .trim()
    .split('\n')
    .map((l) => pick(JSON.parse(l) as JsonLine));

describe('custos audit export', () => {
  it('prints the stored canonical records (jsonl) or their OCSF events (ocsf)', async () => {
    const { uri, records } = await writeTrail(mkdtempSync(path.join(tmpdir(), 'custos-export-')), 3);
    const jsonl = await cli(['audit', 'export', '--store', uri]);
    expect(jsonl).toMatchObject({ code: 0, err: '' });
    expect(jsonl.out).toBe(records.map((r) => `${canonicalize(r)}\n`).join(''));
    const ocsf = await cli(['audit', 'export', '--format', 'ocsf', '--store', uri]);
    expect(ocsf.code).toBe(0);
    expect(seqsOf(ocsf.out, (e) => e['class_uid'] as number)).toEqual([6003, 6003, 6003]);
    expect(seqsOf(ocsf.out, (e) => e['metadata'].sequence as number)).toEqual([1, 2, 3]);
  });

  it('--since takes a seq or an RFC 3339 time; anything else is a usage error', async () => {
    const { uri } = await writeTrail(mkdtempSync(path.join(tmpdir(), 'custos-export-')), 5);
    expect(seqsOf((await cli(['audit', 'export', '--store', uri, '--since', '3'])).out, (r) => r['seq'] as number)).toEqual([3, 4, 5]);
    expect(seqsOf((await cli(['audit', 'export', '--store', uri, '--since', '2026-01-01T00:00:04Z'])).out, (r) => r['seq'] as number)).toEqual([4, 5]);
    expect(seqsOf((await cli(['audit', 'export', '--store', uri, '--from', '5'])).out, (r) => r['seq'] as number)).toEqual([5]);
    expect((await cli(['audit', 'export', '--store', uri, '--since', 'yesterday'])).code).toBe(2);
    expect((await cli(['audit', 'export', '--store', uri, '--format', 'csv'])).code).toBe(2);
  });
});

describe('custos audit sinks', () => {
  it("shows each sink's cursor, lag and last error, and exits 1 while one is failing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custos-sinks-'));
    const { records } = await writeTrail(dir, 6);
    const config = path.join(dir, 'custos.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        identity: { issuers: [{ issuer: 'https://idp.example.com', audience: 'custos' }] },
        policy: { bundle: './bundle' },
        audit: { store: 'sqlite:./audit.sqlite' },
        export: {
          stateDir: './export-state',
          sinks: [
            { type: 'file', name: 'archive', path: './out.jsonl' },
            { type: 'webhook', name: 'siem', url: 'http://127.0.0.1:9/hook', secret: 'env:CUSTOS_TEST_HOOK_KEY' },
          ],
        },
      }),
    );
    process.env['CUSTOS_TEST_HOOK_KEY'] = 'k';
    const cursors = createFileCursorStore(path.join(dir, 'export-state'));
    cursors.save({ sink: 'archive', seq: 6, hash: records[5]!.hash, updated_at: '2026-01-01T00:00:10.000Z', failures: 0 });
    cursors.save({
      sink: 'siem',
      seq: 2,
      hash: records[1]!.hash,
      updated_at: '2026-01-01T00:00:10.000Z',
      failures: 4,
      last_error: { reason: 'unreachable', at: '2026-01-01T00:00:09.000Z' },
    });
    const text = await cli(['audit', 'sinks', '--config', config]);
    expect(text.code).toBe(1);
    expect(text.out).toContain('archive (file): idle, delivered through seq 6 of 6, lag 0\n');
    expect(text.out).toContain(
      'siem (webhook): retrying, delivered through seq 2 of 6, lag 4, last error ERR_EXPORT_DELIVERY_FAILED unreachable at 2026-01-01T00:00:09.000Z (4 failures in a row)',
    );
    const json = await cli(['audit', 'sinks', '--config', config, '--json']);
    expect(JSON.parse(json.out)).toEqual([
      { name: 'archive', type: 'file', state: 'idle', cursor: 6, head: 6, lag: 0, failures: 0 },
      {
        name: 'siem',
        type: 'webhook',
        state: 'retrying',
        cursor: 2,
        head: 6,
        lag: 4,
        failures: 4,
        last_error: { code: 'ERR_EXPORT_DELIVERY_FAILED', reason: 'unreachable', at: '2026-01-01T00:00:09.000Z' },
      },
    ]);
    cursors.save({ sink: 'siem', seq: 6, hash: records[5]!.hash, updated_at: '2026-01-01T00:00:20.000Z', failures: 0 });
    expect((await cli(['audit', 'sinks', '--config', config])).code).toBe(0);
    delete process.env['CUSTOS_TEST_HOOK_KEY'];
  });
});
