/**
 * The `custos` command as a process (bin/custos.js over dist/, so `npm run build` first, as
 * `npm test` does): each command loads only what it needs, and a reader that closes the
 * pipe early ends the command quietly.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuditStore } from '../src/audit/index.js';
import { AUDIT_SCHEMA } from '../src/kernel/index.js';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/custos.js');
const recorder = path.join(root, 'test/fixtures/record-imports.mjs');
const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'custos-cli-process-'));

/** Runs custos with an import recorder; returns its output and the packages and dist modules it loaded. */
function runRecorded(args: string[], input = ''): { status: number | null; stdout: string; stderr: string; packages: string[]; modules: string[] } {
  const log = path.join(tmp(), 'imports.log');
  const r = spawnSync(process.execPath, ['--import', recorder, bin, ...args], { input, encoding: 'utf8', env: { ...process.env, CUSTOS_IMPORT_LOG: log } });
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const packages = new Set<string>();
  const modules = new Set<string>();
  for (const url of urls) {
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
    if (pkg) packages.add(pkg);
    const mod = /\/dist\/([^/]+)\//.exec(url)?.[1];
    if (mod && !pkg) modules.add(mod);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, packages: [...packages].sort(), modules: [...modules].sort() };
}

describe('custos loads only what a command needs', () => {
  it('redact loads commander, the kernel and protect: no MCP SDK, Cedar, identity provider or database driver', () => {
    const r = runRecorded(['redact'], 'SSN 123-45-6789\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('SSN [redacted:ssn]\n');
    expect(r.packages).toEqual(['commander']);
    expect(r.modules).toEqual(['cli', 'kernel', 'protect']);
  });

  it('--help of the program and of commands loads no implementation', () => {
    for (const args of [[], ['audit', 'export'], ['serve'], ['review', 'close']]) {
      const r = runRecorded([...args, '--help']);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/Usage: custos/);
      expect(r.packages, args.join(' ')).toEqual(['commander']);
      expect(r.modules, args.join(' ')).toEqual(['cli', 'kernel']);
    }
  });

  it('sees a heavy import when a command needs one (the recorder can fail)', () => {
    const r = runRecorded(['audit', 'export', '--store', `sqlite:${path.join(tmp(), 'audit.sqlite')}`]);
    expect(r.status).toBe(0);
    expect(r.packages).toContain('pg'); // better-sqlite3 itself loads in the audit writer thread, out of the recorder's sight
    expect(r.modules).toContain('audit');
  });
});

describe('custos audit export | head -1', () => {
  it('ends quietly with exit 0 when the reader closes the pipe early (no EPIPE crash, no stack trace)', async () => {
    const uri = `sqlite:${path.join(tmp(), 'audit.sqlite')}`;
    const store = await createAuditStore(uri);
    const rows = 40; // 40 × 16 KB is far more than a pipe buffer holds: the export must write after the reader left
    for (let i = 1; i <= rows; i++) {
      await store.append({
        schema: AUDIT_SCHEMA,
        event: 'intent',
        time: new Date().toISOString(),
        request_id: `r${i}`,
        user: { sub: 'alice' },
        policy: { decision: 'allow', bundle_hash: 'a'.repeat(64), determining_policies: [], reasons: [] },
        input: { redacted: 'x'.repeat(16_000), sha256: 'b'.repeat(64) },
        redactions: { count: 0, types: [] },
      });
    }
    await store.close();

    const child = spawn(process.execPath, [bin, 'audit', 'export', '--store', uri], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let first = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      first += c.toString();
      if (first.includes('\n')) child.stdout.destroy(); // what `head -1` does after its line
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(JSON.parse(first.slice(0, first.indexOf('\n')))).toMatchObject({ seq: 1 });
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });
});
