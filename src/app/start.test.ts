import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuditStore, loadVerifyKeys, verifyCheckpointSignature } from '../audit/index.js';
import { resolveConfig } from '../config/index.js';
import { createLogger, startCustos } from './index.js';

const root = path.resolve(import.meta.dirname, '../..');

function config(dir: string, port: number, bundle = path.join(root, 'examples/quickstart/policy')) {
  return resolveConfig(
    {
      server: { port },
      identity: { issuers: [{ issuer: 'https://idp.example.test', audience: 'https://custos.example.test/mcp', jwksUri: 'https://idp.example.test/jwks' }] },
      policy: { bundle },
      audit: { store: `sqlite:${path.join(dir, 'audit.sqlite')}` },
    },
    { source: 'test', baseDir: dir },
  );
}

describe('startCustos', () => {
  it('records the activated bundle in the trail and closes cleanly', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custos-app-'));
    const custos = await startCustos(config(dir, 0), { logger: createLogger('silent') });
    const health = await fetch(`${custos.url}/healthz`);
    expect(health.status).toBe(200);
    await custos.close();
    const store = await createAuditStore(`sqlite:${path.join(dir, 'audit.sqlite')}`);
    const rows = [];
    for await (const r of store.read()) rows.push(r);
    await store.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      event: 'admin',
      user: { sub: 'custos:system' },
      policy: { bundle_hash: custos.bundleHash, reasons: ['policy_activated'] },
    });
  });

  it('writes signed checkpoint rows when audit.checkpoints.signingKey is set (and none without it)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custos-app-'));
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(path.join(dir, 'checkpoint.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const base = config(dir, 0);
    const withKeys = resolveConfig(
      {
        server: { port: 0 },
        identity: { issuers: base.identity.issuers },
        policy: { bundle: base.policy.bundle },
        audit: { store: base.audit.store, checkpoints: { signingKey: 'file:checkpoint.pem', everyRows: 1 } },
      },
      { source: 'test', baseDir: dir },
    );
    const custos = await startCustos(withKeys, { logger: createLogger('silent') });
    await custos.close();
    const store = await createAuditStore(base.audit.store);
    const rows = [];
    for await (const r of store.read()) rows.push(r);
    await store.close();
    expect(rows.map((r) => r.event)).toEqual(['admin', 'checkpoint']);
    expect(rows[1]).toMatchObject({ user: { sub: 'custos:system' }, policy: { bundle_hash: custos.bundleHash }, checkpoint: { tree_size: 1 } });
    expect(verifyCheckpointSignature(rows[1]!.checkpoint, loadVerifyKeys([publicKey.export({ type: 'spki', format: 'pem' }).toString()]))).toEqual({
      ok: true,
    });
  });

  it('writes the policy_activated row through the one row builder: its detail is redacted like every row', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custos-app-'));
    const bundle = path.join(dir, 'bundle-of-dana@example.test');
    cpSync(path.join(root, 'examples/quickstart/policy'), bundle, { recursive: true });
    const custos = await startCustos(config(dir, 0, bundle), { logger: createLogger('silent') });
    await custos.close();
    const store = await createAuditStore(`sqlite:${path.join(dir, 'audit.sqlite')}`);
    const rows = [];
    for await (const r of store.read()) rows.push(r);
    await store.close();
    expect(rows[0]).toMatchObject({ event: 'admin', detail: { action: 'policy_activated', bundle_dir: expect.stringContaining('[redacted:email]') } });
    expect(JSON.stringify(rows)).not.toContain('dana@example.test');
  });

  it('refuses to start on a port in use, naming the key and the fix, and leaves nothing open', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custos-app-'));
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startCustos(config(dir, port), { logger: createLogger('silent') })).rejects.toMatchObject({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringContaining(`server.port: 127.0.0.1:${port} is already in use`),
      });
    } finally {
      blocker.close();
    }
    // the store was closed again: another writer can take it at once
    const store = await createAuditStore(`sqlite:${path.join(dir, 'audit.sqlite')}`, { busyTimeoutMs: 50 });
    await store.close();
  });

  it('refuses to start without a valid bundle (fail closed)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custos-app-'));
    await expect(startCustos(config(dir, 0, path.join(dir, 'no-such-bundle')), { logger: createLogger('silent') })).rejects.toMatchObject({
      code: 'ERR_POLICY_BUNDLE_INVALID',
    });
  });
});
