import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditStore } from '../audit/index.js';
import { intentEntry, runCliCaptured, writeSignedDeployment } from './cli.test-support.js';

/** A deployment of its own: the quick-start bundle, checkpoints (and so the manifest) signed by the registry key `cp`. */
describe('custos evidence and evidence verify', () => {
  let dir: string;
  let config: string;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-evidence-cli-'));
    ({ config } = writeSignedDeployment(dir));
    const store = await createAuditStore(`sqlite:${path.join(dir, 'data/audit.sqlite')}`);
    for (let i = 1; i <= 4; i++)
      await store.append(
        intentEntry(i, {
          agent: { name: 'claude', tier: 'interactive', delegation_chain: ['user:alice', 'agent:claude'] },
          tool: { server: 'filesystem', name: 'read_text_file' },
        }),
      );
    await store.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a signed pack (no PDF, no TLS probe) that verifies against the public key; a changed file exits 1 naming it', async () => {
    const out = path.join(dir, 'pack');
    const made = await runCliCaptured([
      'evidence',
      '-c',
      config,
      '--framework',
      'hipaa',
      '--out',
      out,
      '--no-pdf',
      '--no-tls',
      '--from',
      '2026-01-01T00:00:00Z',
    ]);
    expect(made.err).toContain('ms CPU');
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/evidence pack \(hipaa\) written to .*: \d+ files, \d+ bytes, 4 rows in the window/);
    expect(made.out).toMatch(/checklist: \d+ pass, \d+ fail, \d+ not configured/);
    expect(made.out).toMatch(/manifest sha256 [0-9a-f]{64}, signed by key [0-9a-f]{16}/);

    const ok = await runCliCaptured(['evidence', 'verify', out, '--pubkey', path.join(dir, 'cp.pub.pem')]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.out).toMatch(/evidence pack intact: \d+ files, manifest signed by key/);

    const checklist = path.join(out, 'checklist.json');
    writeFileSync(checklist, readFileSync(checklist, 'utf8').replace('"fail"', '"pass"').replace('"not_configured"', '"pass"'));
    const bad = await runCliCaptured(['evidence', 'verify', out, '--pubkey', path.join(dir, 'cp.pub.pem')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('CHANGED checklist.json: checklist.json changed after the pack was made');

    // Another deployment's key: the signature is refused, whatever the files say.
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(path.join(dir, 'other.pub.pem'), other);
    const foreign = await runCliCaptured(['evidence', 'verify', out, '--pubkey', path.join(dir, 'other.pub.pem')]);
    expect(foreign.code).toBe(1);
    expect(foreign.err).toContain('KEY_UNKNOWN manifest.json');
  }, 60_000);

  it('refuses a directory that is not empty, and an unknown framework', async () => {
    writeFileSync(path.join(dir, 'data', 'note.txt'), 'x');
    const busy = await runCliCaptured(['evidence', '-c', config, '--framework', 'soc2', '--out', path.join(dir, 'data'), '--no-pdf', '--no-tls']);
    expect(busy.code).toBe(2);
    expect(busy.err).toContain('is not empty');
    const unknown = await runCliCaptured(['evidence', '-c', config, '--framework', 'iso27001', '--out', path.join(dir, 'p'), '--no-pdf']);
    expect(unknown.code).toBe(2);
  });
});
