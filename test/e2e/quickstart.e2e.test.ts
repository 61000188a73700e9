/**
 * The README's first command: `npm start` brings up the dev IdP, Custos and the filesystem
 * server, runs the demo, and `custos token` / `custos audit verify` work against it.
 * (.ci/run runs the whole suite in a fresh clone after `npm ci`, the README's other command.)
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, repoRoot, waitForOutput } from './harness.js';

describe('npm start (the quick start)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-quickstart-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid) process.kill(-child.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts within a minute, shows the demo, and serves real tokens and a verifiable trail', async () => {
    const [port, idpPort] = [await freePort(), await freePort()];
    const store = `sqlite:${path.join(dir, 'audit.sqlite')}`;
    child = spawn('npm', ['start', '--', '--port', String(port), '--idp-port', String(idpPort), '--store', store], {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = Date.now();
    const out = await waitForOutput(child, /Press Ctrl\+C to stop/, 60_000);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(out).toContain(`MCP endpoint       http://127.0.0.1:${port}/mcp`);
    // The key goes beside the store given (never into the checkout's data/), created on this first start.
    expect(out).toMatch(
      new RegExp(`checkpoints {8}signed with \\S*${path.basename(dir)}/checkpoint-key\\.pem \\(key id [0-9a-f]{16}; created now; a dev key\\)`),
    );
    expect(out).toMatch(/bob\s+reads phi\/patient-0001\.md\s+-> denied: phi_requires_clinician/);
    expect(out).toMatch(/alice reads phi\/patient-0001\.md\s+-> allowed, returned with .*\[redacted:ssn\]/);
    expect(out).toMatch(/alice reads \.env\s+-> allowed, returned with .*\[redacted:secret\]/);
    expect(out).not.toContain('123-45-6789');

    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin/custos.js'), ...args], { encoding: 'utf8' });
    const token = cli('token', '--user', 'alice', '--issuer', `http://127.0.0.1:${idpPort}`);
    expect(token.status).toBe(0);
    expect(token.stdout.trim()).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);

    const client = new Client({ name: 'quickstart-e2e', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token.stdout.trim()}` } },
      }),
    );
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('filesystem__read_text_file');
    await client.close();

    const verify = cli('audit', 'verify', '--store', store);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/intact: \d+ records/);
  }, 120_000);
});

describe('a port already in use', () => {
  it('is reported with the key and the fix, not a stack trace', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const store = `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'custos-quickstart-port-')), 'audit.sqlite')}`; // its key goes beside it
      const r = spawnSync(
        process.execPath,
        [path.join(repoRoot, 'bin/custos.js'), 'quickstart', '--no-demo', '--port', String(await freePort()), '--idp-port', String(port), '--store', store],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`127.0.0.1:${port} (the dev identity provider) is already in use; pass --idp-port`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});
