import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAuditStore } from '../audit/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { copyQuickstartCheckout } from '../config/index.test-support.js';
import { runCli } from './index.js';
import { intentEntry, runCliCaptured } from './cli.test-support.js';

const root = path.resolve(import.meta.dirname, '../..');

/** A trail of n rows, each carrying `size` characters of redacted input, in a fresh SQLite file. */
async function writeTrail(n: number, size = 100): Promise<{ uri: string; records: AuditRecord[] }> {
  const uri = `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'custos-cli-')), 'audit.sqlite')}`;
  const store = await createAuditStore(uri);
  const records: AuditRecord[] = [];
  for (let i = 1; i <= n; i++) {
    records.push(await store.append(intentEntry(i, { input: { redacted: 'x'.repeat(size), sha256: 'b'.repeat(64) } })));
  }
  await store.close();
  return { uri, records };
}

const cli = runCliCaptured;

describe('custos CLI', () => {
  it('has --help for every command', async () => {
    for (const args of [
      [],
      ['serve'],
      ['quickstart'],
      ['token'],
      ['audit'],
      ['audit', 'verify'],
      ['audit', 'prove'],
      ['audit', 'export'],
      ['policy'],
      ['policy', 'hash'],
      ['policy', 'validate'],
      ['redact'],
      ['review'],
      ['review', 'list'],
      ['review', 'close'],
      ['alerts', 'list'],
      ['alerts', 'ack'],
      ['inventory'],
      ['inventory', 'approve'],
      ['kill', 'set'],
      ['kill', 'lift'],
      ['kill', 'list'],
    ]) {
      const { code, out } = await cli([...args, '--help']);
      expect(code, args.join(' ')).toBe(0);
      expect(out, args.join(' ')).toMatch(/Usage: custos/);
    }
  });

  it('redacts stdin and reports what it found', async () => {
    const { code, out, err } = await cli(['redact', '--summary'], 'SSN 123-45-6789, mail jane@example.test\n');
    expect(code).toBe(0);
    expect(out).toBe('SSN [redacted:ssn], mail [redacted:email]\n');
    expect(err).toContain('redactions: 2 (email, ssn)');
  });

  it('prints the bundle hash and validates the quick-start bundle', async () => {
    const hash = await cli(['policy', 'hash', path.join(root, 'examples/quickstart/policy')]);
    expect(hash.out.trim()).toMatch(/^[0-9a-f]{64}$/);
    const valid = await cli(['policy', 'validate', path.join(root, 'examples/quickstart/policy')]);
    expect(valid.code).toBe(0);
    expect(valid.out).toContain(`sha256:${hash.out.trim()}`);
  });

  it('checks a config, listing every problem with exit code 2', async () => {
    expect((await cli(['serve', '--check', '--config', copyQuickstartCheckout({ key: true }).config])).code).toBe(0);
    const { config: keyless, keyFile } = copyQuickstartCheckout();
    const noKey = await cli(['serve', '--check', '--config', keyless]);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toContain('ERR_CONFIG_SECRET_UNRESOLVED');
    expect(noKey.err).toContain(`audit.checkpoints.signingKey: secret file ${keyFile} does not exist`);
    expect(noKey.err).toContain(`openssl genpkey -algorithm ed25519 -out ${keyFile}`);
    expect(noKey.err).toContain('run `npm start` once');
    const bad = path.join(mkdtempSync(path.join(tmpdir(), 'custos-cli-')), 'bad.yaml');
    writeFileSync(bad, 'server: { port: -1 }\nidentity: { issuers: [] }\n');
    const { code, err } = await cli(['serve', '--check', '--config', bad]);
    expect(code).toBe(2);
    expect(err).toContain('ERR_CONFIG_INVALID');
    expect(err).toContain('server.port');
    expect(err).toContain('identity.issuers');
    expect(err).toContain('policy');
  });

  it('verifies the trail against a head known from elsewhere (--expect-head SEQ:HASH)', async () => {
    const { uri, records } = await writeTrail(5);
    const head = (n: number): string => `${n}:${records[n - 1]!.hash}`;
    expect(await cli(['audit', 'verify', '--store', uri, '--expect-head', head(5)])).toMatchObject({ code: 0, err: '' });
    expect(await cli(['audit', 'verify', '--store', uri, '--expect-head', head(3)])).toMatchObject({ code: 0, err: '' });
    const rebuilt = await cli(['audit', 'verify', '--store', uri, '--expect-head', `3:${'f'.repeat(64)}`]);
    expect(rebuilt.code).toBe(1);
    expect(rebuilt.err).toContain('BROKEN at seq 3: hash_mismatch');
    const cut = await cli(['audit', 'verify', '--store', uri, '--expect-head', `7:${'f'.repeat(64)}`]);
    expect(cut.code).toBe(1);
    expect(cut.err).toContain('BROKEN at seq 6: truncated');
    expect((await cli(['audit', 'verify', '--store', uri, '--expect-head', '5:abc'])).code).toBe(2);
  });

  it('stops an export quietly, exit 0, when the reader goes away (EPIPE)', async () => {
    const { uri } = await writeTrail(200);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let lines = 0;
    let err = '';
    stdout.on('data', (c: Buffer) => {
      lines += c.toString().split('\n').length - 1;
      if (!stdout.destroyed) stdout.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    });
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await runCli(['audit', 'export', '--store', uri], { stdout, stderr });
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(lines).toBeGreaterThan(0);
    expect(lines).toBeLessThan(200); // it stopped reading the trail, not only writing
  });

  it('reports an unknown command as a usage error', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
  });
});
