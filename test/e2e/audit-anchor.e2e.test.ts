/**
 * The external anchor end to end: a real Custos signs checkpoints and writes them to three
 * anchors outside its database (a write-once directory, an S3-compatible bucket checked for
 * SigV4, an HMAC-signed webhook). Then someone with write access to the database cuts rows
 * off its end, or rebuilds the whole chain from scratch: each verifies on its own, and
 * `custos audit verify --anchor` catches both. A backup restored into a fresh data directory
 * verifies against the same anchors.
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditStore } from '../../src/audit/index.js';
import { runCliCaptured } from '../../src/cli/cli.test-support.js';
import { S3_TEST_ACCOUNT, reservePort, startTestS3, startWebhookReceiver } from '../../src/export/index.test-support.js';
import type { Receiver, TestS3 } from '../../src/export/index.test-support.js';
import type { AuditEntry, AuditRecord } from '../../src/kernel/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('external anchor: a truncated or re-chained database is caught; a restored backup verifies', () => {
  let h: Harness;
  let s3: TestS3;
  let notary: Receiver;
  let configFile: string;
  let pubkey: string;
  let rows: AuditRecord[];
  const anchors = (): string[] => ['--anchor', `dir:${path.join(h.dir, 'anchor')}`, '--anchor', 'bucket', '--config', configFile, '--pubkey', pubkey];

  beforeAll(async () => {
    s3 = await startTestS3(['anchors']);
    await s3.start();
    const notaryPort = await reservePort();
    notary = await startWebhookReceiver(notaryPort, 'notary-hmac-key');
    process.env['CUSTOS_E2E_S3_KEY_ID'] = S3_TEST_ACCOUNT.accessKeyId;
    process.env['CUSTOS_E2E_S3_SECRET'] = S3_TEST_ACCOUNT.secretAccessKey;
    process.env['CUSTOS_E2E_NOTARY_KEY'] = 'notary-hmac-key';
    h = await startHarness({
      configure: (raw, { dir }) => {
        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        mkdirSync(path.join(dir, 'keys'));
        writeFileSync(path.join(dir, 'keys/checkpoint.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
        pubkey = path.join(dir, 'keys/checkpoint.pub.pem');
        writeFileSync(pubkey, publicKey.export({ type: 'spki', format: 'pem' }));
        const final = {
          ...raw,
          audit: { ...raw.audit, checkpoints: { signingKey: 'file:keys/checkpoint.pem', everyRows: 3, everySec: 1 } },
          export: {
            stateDir: './export-state',
            pollMs: 50,
            retry: { minMs: 50, maxMs: 200 },
            sinks: [
              { type: 'directory' as const, name: 'vault', path: './anchor' },
              {
                type: 's3' as const,
                name: 'bucket',
                endpoint: s3.endpoint,
                bucket: 'anchors',
                prefix: 'custos/e2e/',
                accessKeyId: 'env:CUSTOS_E2E_S3_KEY_ID',
                secretAccessKey: 'env:CUSTOS_E2E_S3_SECRET',
              },
              {
                type: 'webhook' as const,
                name: 'notary',
                url: `http://127.0.0.1:${notaryPort}/anchor`,
                secret: 'env:CUSTOS_E2E_NOTARY_KEY',
                events: ['checkpoint'],
              },
            ],
          },
        };
        configFile = path.join(dir, 'custos.yaml');
        writeFileSync(configFile, stringify(final));
        return final;
      },
    });
    const client = await h.connect(await h.token('alice'));
    for (const file of ['notes/handbook.md', 'phi/patient-0001.md', 'notes/handbook.md', 'phi/patient-0002.md']) {
      await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, file) } });
    }
    // Every row is covered by a checkpoint (everySec), and every checkpoint is anchored.
    await waitFor(async () => {
      const all = await h.auditRecords();
      const last = all.at(-1)!;
      return last.event === 'checkpoint' && last.checkpoint!.tree_size === last.seq - 1;
    });
    rows = await h.auditRecords();
    const checkpoints = rows.filter((r) => r.event === 'checkpoint').map((r) => r.seq);
    await waitFor(() => readdirSync(path.join(h.dir, 'anchor')).length === checkpoints.length && new Set(notary.seqs).size >= checkpoints.length);
    // The bucket too (its sink delivers on its own, later under load): until it holds every checkpoint, verify reads fewer.
    await waitFor(async () =>
      (await runCliCaptured(['audit', 'verify', '--store', h.storeUri, ...anchors()])).out.includes(`agrees with ${checkpoints.length * 2} anchored`),
    );
  }, 120_000);

  afterAll(async () => {
    await h?.close();
    await notary?.close();
    await s3?.close();
    for (const k of ['CUSTOS_E2E_S3_KEY_ID', 'CUSTOS_E2E_S3_SECRET', 'CUSTOS_E2E_NOTARY_KEY']) delete process.env[k];
  });

  it('each anchor holds exactly the checkpoint rows, and the trail verifies against them', async () => {
    const checkpoints = rows.filter((r) => r.event === 'checkpoint');
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(path.join(h.dir, 'anchor')).sort()).toEqual(checkpoints.map((r) => `checkpoint-${String(r.seq).padStart(12, '0')}.json`));
    // At least once: a batch redelivered after a lost answer repeats seqs; the notary drops duplicates by seq.
    expect([...new Set(notary.seqs)]).toEqual(checkpoints.map((r) => r.seq));
    expect(notary.refused).toEqual([]);
    const result = await runCliCaptured(['audit', 'verify', '--store', h.storeUri, ...anchors()]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      new RegExp(`^audit trail intact: ${rows.length} rows, .*reaches and agrees with ${checkpoints.length * 2} anchored checkpoint\\(s\\)`),
    );
  });

  it('rows cut off the end: the chain alone verifies, the anchor names the truncation', async () => {
    const file = path.join(h.dir, 'truncated.sqlite');
    const source = new Database(h.storeFile, { readonly: true });
    await source.backup(file);
    source.close();
    const lastAnchored = rows.filter((r) => r.event === 'checkpoint').at(-1)!;
    const db = new Database(file);
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as Array<{ name: string }>)
      db.exec(`DROP TRIGGER "${name}"`);
    db.prepare('DELETE FROM audit_records WHERE seq >= ?').run(lastAnchored.checkpoint!.tree_size - 1);
    db.close();
    const alone = await runCliCaptured(['audit', 'verify', '--store', `sqlite:${file}`]);
    expect(alone.code).toBe(0);
    const anchored = await runCliCaptured(['audit', 'verify', '--store', `sqlite:${file}`, ...anchors()]);
    expect(anchored.code).toBe(1);
    expect(anchored.err).toContain(`TAMPERED truncated at seq ${lastAnchored.checkpoint!.tree_size - 1}`);
  });

  it('a chain rebuilt from scratch without one row (and without the checkpoints it cannot sign): the anchor names the rewrite', async () => {
    const uri = `sqlite:${path.join(h.dir, 'rechained.sqlite')}`;
    const forged = await createAuditStore(uri);
    const dropped = rows.find((r) => r.event === 'intent')!;
    for (const r of rows) {
      if (r.seq === dropped.seq || r.event === 'checkpoint') continue;
      const { seq: _s, prev_hash: _p, hash: _h, ...entry } = r;
      await forged.append(entry as AuditEntry);
    }
    await forged.close();
    const alone = await runCliCaptured(['audit', 'verify', '--store', uri]);
    expect(alone.code).toBe(0);
    const anchored = await runCliCaptured(['audit', 'verify', '--store', uri, ...anchors()]);
    expect(anchored.code).toBe(1);
    expect(anchored.err).toContain('TAMPERED checkpoint_root_mismatch');
  });

  it('backup, then restore on a fresh data directory: the restored trail verifies against the anchor', async () => {
    const backup = path.join(h.dir, 'backup');
    const made = await runCliCaptured(['audit', 'backup', '--config', configFile, '--out', backup]);
    expect(made.err).toBe('');
    expect(made.out).toContain(`backup written to ${backup}: ${rows.length} rows`);
    expect(made.out).toContain('key by reference: audit.checkpoints.signingKey = file:keys/checkpoint.pem');
    const manifest = JSON.parse(readFileSync(path.join(backup, 'manifest.json'), 'utf8')) as { trail: { rows: number }; keys: unknown[]; sessions: object };
    expect(manifest.trail.rows).toBe(rows.length);
    expect(manifest).toMatchObject({
      schema: 'custos.backup/v1',
      trail: { file: 'trail.jsonl', head_seq: rows.at(-1)!.seq, head_hash: rows.at(-1)!.hash, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      checkpoint_key_id: rows.find((r) => r.event === 'checkpoint')!.checkpoint!.key_id,
    });
    expect(JSON.stringify(manifest)).not.toContain('PRIVATE KEY');
    expect(manifest.sessions).toHaveProperty('file', 'sessions.sqlite');

    const fresh = path.join(h.dir, 'fresh-machine/data');
    const restored = await runCliCaptured([
      'audit',
      'restore',
      '--from',
      backup,
      '--store',
      `sqlite:${fresh}/audit.sqlite`,
      '--sessions',
      `sqlite:${fresh}/audit.sessions.sqlite`,
    ]);
    expect(restored.err).toBe('');
    expect(restored.out).toContain(
      `trail restored into sqlite:${fresh}/audit.sqlite: ${rows.length} rows, head seq ${rows.at(-1)!.seq} hash ${rows.at(-1)!.hash}`,
    );
    expect(restored.out).toContain('sessions restored');
    const verified = await runCliCaptured(['audit', 'verify', '--store', `sqlite:${fresh}/audit.sqlite`, ...anchors()]);
    expect(verified.err).toBe('');
    expect(verified.out).toMatch(/^audit trail intact: .*anchored checkpoint/);
  });

  it('a backup altered after it was made is refused, and nothing is restored', async () => {
    const backup = path.join(h.dir, 'backup-altered');
    await runCliCaptured(['audit', 'backup', '--store', h.storeUri, '--out', backup]);
    const trail = path.join(backup, 'trail.jsonl');
    writeFileSync(trail, readFileSync(trail, 'utf8').replace('handbook', 'handbooc'));
    const target = path.join(h.dir, 'fresh-2/audit.sqlite');
    const result = await runCliCaptured(['audit', 'restore', '--from', backup, '--store', `sqlite:${target}`]);
    expect(result.code).toBe(2);
    expect(result.err).toContain('does not match the manifest');
    expect(existsSync(target)).toBe(false);
  });
});
