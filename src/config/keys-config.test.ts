/** The `keys` registry, `audit.encryption` and `audit.retention`: references resolved, every mistake listed with its path. */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './index.js';

const base = { identity: { issuers: [{ issuer: 'https://idp.example.com', audience: 'custos' }] }, policy: { bundle: './bundle' } };
const resolve = (extra: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) =>
  resolveConfig({ ...base, ...extra }, { source: '/etc/custos/custos.yaml', baseDir: '/etc/custos', env });
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    return ((err as { detail?: { problems?: string[] } }).detail?.problems ?? []).map((p) => p.replace('/etc/custos/custos.yaml: ', ''));
  }
  return [];
};

describe('keys and at-rest config', () => {
  it('resolves key material and token PINs from their references, module paths from the config file', () => {
    const cfg = resolve(
      {
        keys: [
          { id: 'trail-1', use: 'encrypt', ref: 'env:TRAIL' },
          { id: 'hsm', use: 'sign', pkcs11: { module: 'lib/softhsm.so', token: 'custos', label: 'cp', pin: 'env:PIN' } },
          { id: 'index-1', use: 'hmac', ref: 'env:INDEX' },
        ],
        audit: { encryption: { key: 'trail-1' }, checkpoints: { signingKey: 'key:hsm' }, search: { indexKey: 'index-1' } },
      },
      { TRAIL: 'k'.repeat(44), PIN: '1234', INDEX: 'i'.repeat(44) },
    );
    expect(cfg.keys).toEqual([
      { id: 'trail-1', use: 'encrypt', material: 'k'.repeat(44) },
      { id: 'hsm', use: 'sign', pkcs11: { module: '/etc/custos/lib/softhsm.so', token: 'custos', label: 'cp', pin: '1234' } },
      { id: 'index-1', use: 'hmac', material: 'i'.repeat(44) },
    ]);
    expect(cfg.audit.search.indexKey).toBe('index-1');
    expect(cfg.audit.checkpoints.signingKey).toBe('key:hsm');
    expect(cfg.audit.retention).toEqual({ minimumDays: 2192, defaultDays: 2192, classes: {} });
  });

  it('lists every mistake at once: unknown or wrong-use key ids, duplicates, inline material, retention below the minimum', () => {
    expect(
      problems(() =>
        resolve({
          keys: [
            { id: 'a', use: 'sign', ref: 'env:A' },
            { id: 'a', use: 'encrypt', ref: 'env:B' },
            { id: 'c', use: 'hmac', ref: 'inline-secret' },
          ],
          audit: {
            encryption: { key: 'c' },
            checkpoints: { signingKey: 'key:nope' },
            retention: { classes: { auth_failure: 30 } },
            search: { indexKey: 'a' },
          },
        }),
      ),
    ).toEqual([
      'audit.retention: no retention may be below minimumDays',
      'keys[2].ref: must be a secret reference (env:NAME or file:PATH), never an inline secret',
      'keys[1].id: duplicate key id "a"',
      'audit.encryption.key: no encrypt key "c" in keys',
      'audit.search.indexKey: no hmac key "a" in keys',
      'audit.checkpoints.signingKey: no sign key "nope" in keys',
    ]);
  });

  it('an encrypted trail needs a keyed search index: audit.search.indexKey is required with audit.encryption', () => {
    expect(
      problems(() =>
        resolve({ keys: [{ id: 'trail-1', use: 'encrypt', ref: 'env:TRAIL' }], audit: { encryption: { key: 'trail-1' } } }, { TRAIL: 'k'.repeat(44) }),
      ),
    ).toEqual([
      'audit.search.indexKey: required with audit.encryption: register an hmac key in keys (32 bytes) and name it here, or the search index would hold unkeyed hashes of what the encrypted trail hides',
    ]);
  });
});
