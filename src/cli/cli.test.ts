import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from './index.js';

const root = path.resolve(import.meta.dirname, '../..');

async function cli(args: string[], stdin = ''): Promise<{ code: number | undefined; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await runCli(args, { stdout, stderr, stdin: Readable.from([stdin]) });
  return { code, out, err };
}

describe('custos CLI', () => {
  it('has --help for every command', async () => {
    for (const args of [[], ['serve'], ['quickstart'], ['token'], ['audit'], ['audit', 'verify'], ['audit', 'export'], ['policy'], ['policy', 'hash'], ['policy', 'validate'], ['redact']]) {
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
    expect((await cli(['serve', '--check', '--config', path.join(root, 'examples/quickstart/custos.yaml')])).code).toBe(0);
    const bad = path.join(mkdtempSync(path.join(tmpdir(), 'custos-cli-')), 'bad.yaml');
    writeFileSync(bad, 'server: { port: -1 }\nidentity: { issuers: [] }\n');
    const { code, err } = await cli(['serve', '--check', '--config', bad]);
    expect(code).toBe(2);
    expect(err).toContain('ERR_CONFIG_INVALID');
    expect(err).toContain('server.port');
    expect(err).toContain('identity.issuers');
    expect(err).toContain('policy');
  });

  it('reports an unknown command as a usage error', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
  });
});
