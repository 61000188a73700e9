/**
 * The anchors' credentials from the key registry: a webhook's HMAC secret and an S3 bucket's
 * access keys given as `key:ID` (a `secret` key of the `keys` section), used by the real sinks
 * against local receivers that check them, rotated by pointing at a new key id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryAudit, makeEntry } from '../audit/index.test-support.js';
import { resolveConfig } from '../config/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { createSink, readS3Anchor } from '../export/index.js';
import type { S3SinkSettings } from '../export/index.js';
import { S3_TEST_ACCOUNT, reservePort, startTestS3, startWebhookReceiver } from '../export/index.test-support.js';
import type { AuditRecord } from '../kernel/index.js';
import { createKeyRegistry } from '../keys/index.js';
import { toSinkSettings } from './export-sinks.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const base = { identity: { issuers: [{ issuer: 'https://idp.example.com', audience: 'custos' }] }, policy: { bundle: './bundle' } };
const KEYS = [
  { id: 's3-id', use: 'secret', ref: 'env:S3_ID' },
  { id: 's3-secret-2026-01', use: 'secret', ref: 'env:S3_SECRET_OLD' },
  { id: 's3-secret-2026-02', use: 'secret', ref: 'env:S3_SECRET' },
  { id: 'hook-2026-01', use: 'secret', ref: 'env:HOOK_OLD' },
  { id: 'hook-2026-02', use: 'secret', ref: 'env:HOOK_NEW' },
  { id: 'checkpoint-hmac', use: 'hmac', ref: 'env:HMAC' },
];
const ENV = {
  S3_ID: S3_TEST_ACCOUNT.accessKeyId,
  S3_SECRET_OLD: 'retired-secret',
  S3_SECRET: S3_TEST_ACCOUNT.secretAccessKey,
  HOOK_OLD: 'old-hook-secret',
  HOOK_NEW: 'new-hook-secret',
  HMAC: 'ab'.repeat(32),
};

function configWith(sinks: unknown[]): ResolvedConfig {
  return resolveConfig({ ...base, keys: KEYS, export: { sinks } }, { source: 'custos.yaml', baseDir: '/', env: ENV });
}

async function checkpointRows(): Promise<AuditRecord[]> {
  const store = createMemoryAudit();
  for (let i = 1; i <= 4; i += 1) {
    const checkpoint = { tree_size: i - 1, root_hash: 'a'.repeat(64), key_id: 'k', signature: 's' };
    await store.append(i % 2 === 0 ? makeEntry(i, { event: 'checkpoint', checkpoint }) : makeEntry(i));
  }
  return store.rows as AuditRecord[];
}

describe('anchor credentials from the key registry', () => {
  it('a webhook signs with the secret key its key:ID names; rotating to a new id is what the receiver sees', async () => {
    const port = await reservePort();
    const receiver = await startWebhookReceiver(port, 'new-hook-secret');
    cleanups.push(() => receiver.close());
    const hook = (keyId: string) => ({ type: 'webhook', name: 'hook', url: `http://127.0.0.1:${port}/`, secret: `key:${keyId}`, events: ['checkpoint'] });
    const rows = await checkpointRows();
    // Before the rotation the sink still signs with the old key: the receiver, given only the new one, refuses.
    const before = createSink(toSinkSettings(configWith([hook('hook-2026-01')]).export.sinks[0]!));
    await expect(before.deliver(rows)).rejects.toMatchObject({ code: 'ERR_EXPORT_DELIVERY_FAILED', detail: { reason: 'http_401' } });
    const after = createSink(toSinkSettings(configWith([hook('hook-2026-02')]).export.sinks[0]!));
    await after.deliver(rows);
    expect(receiver.seqs).toEqual([2, 4]);
  });

  it('an S3 anchor signs its requests with access keys from the registry; a rotated-out secret is refused by the bucket', async () => {
    const s3 = await startTestS3(['anchors']);
    cleanups.push(() => s3.close());
    await s3.start();
    const bucket = (secretId: string) => ({
      type: 's3',
      name: 'bucket',
      endpoint: s3.endpoint,
      bucket: 'anchors',
      accessKeyId: 'key:s3-id',
      secretAccessKey: `key:${secretId}`,
    });
    const rows = await checkpointRows();
    const retired = toSinkSettings(configWith([bucket('s3-secret-2026-01')]).export.sinks[0]!);
    await expect(createSink(retired).deliver(rows)).rejects.toMatchObject({ detail: { reason: 'http_403' } });
    const current = toSinkSettings(configWith([bucket('s3-secret-2026-02')]).export.sinks[0]!) as S3SinkSettings;
    expect(current.secretAccessKey).toBe(S3_TEST_ACCOUNT.secretAccessKey);
    await createSink(current).deliver(rows);
    expect((await readS3Anchor(current)).records.map((r) => r.seq)).toEqual([2, 4]);
  });

  it('refuses a key:ID that is not registered or not a secret key, naming the field and never the value', () => {
    const hook = (secret: string) => [{ type: 'webhook', name: 'hook', url: 'https://siem.example.com/in', secret }];
    expect(() => configWith(hook('key:nope'))).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_SECRET_UNRESOLVED',
        message: expect.stringContaining('export.sinks[0].secret: no key with id "nope" in keys'),
      }),
    );
    let message = '';
    try {
      configWith(hook('key:checkpoint-hmac'));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('export.sinks[0].secret: key checkpoint-hmac is registered for hmac, not secret');
    expect(message).not.toContain('abab');
  });

  it('a secret key is held as material only: the schema and the registry refuse one in a PKCS#11 token', () => {
    const pkcs11 = { module: '/usr/lib/softhsm/libsofthsm2.so', token: 't', label: 'l', pin: 'env:PIN' };
    expect(() => resolveConfig({ ...base, keys: [{ id: 's', use: 'secret', pkcs11 }] }, { source: 'c.yaml', baseDir: '/', env: { PIN: '1' } })).toThrow(
      /a secret key is handed out as it is/,
    );
    expect(() => createKeyRegistry([{ id: 's', use: 'secret', pkcs11: { ...pkcs11, pin: '1' } }])).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_INVALID', message: expect.stringContaining('give ref, not pkcs11') }),
    );
    expect(createKeyRegistry([{ id: 's', use: 'secret', material: 'x' }]).list()).toEqual([{ id: 's', use: 'secret', backend: 'material' }]);
  });
});
