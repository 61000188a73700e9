import { createHmac, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyRegistry, recordKeysOf } from './index.js';
import type { KeySpec } from './index.js';
import { PIN, SOFTHSM_MODULE, TOKEN, createSoftHsm } from './softhsm.test-support.js';
import type { SoftHsm } from './softhsm.test-support.js';

const aes = randomBytes(32);
const ed = generateKeyPairSync('ed25519');
const SPECS: KeySpec[] = [
  { id: 'trail-2026', use: 'encrypt', material: aes.toString('base64') },
  { id: 'trail-2025', use: 'encrypt', material: randomBytes(32).toString('hex') },
  { id: 'anchor', use: 'hmac', material: aes.toString('hex') },
  { id: 'checkpoint', use: 'sign', material: ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
];

describe('key registry (file and environment material)', () => {
  const registry = createKeyRegistry(SPECS);
  afterAll(() => registry.close());

  it('lists ids and uses, never material', () => {
    expect(registry.list()).toEqual([
      { id: 'trail-2026', use: 'encrypt', backend: 'material' },
      { id: 'trail-2025', use: 'encrypt', backend: 'material' },
      { id: 'anchor', use: 'hmac', backend: 'material' },
      { id: 'checkpoint', use: 'sign', backend: 'material' },
    ]);
    expect(JSON.stringify(registry.list())).not.toContain(aes.toString('base64'));
  });

  it('wraps and unwraps under the key id; a blob does not open under another id (rotation keeps both readable)', () => {
    const dek = randomBytes(32);
    const now = registry.encryptionKey('trail-2026');
    const before = registry.encryptionKey('trail-2025');
    expect(now.unwrap(now.wrap(dek))).toEqual(dek);
    expect(before.unwrap(before.wrap(dek))).toEqual(dek);
    expect(() => before.unwrap(now.wrap(dek))).toThrow(expect.objectContaining({ code: 'ERR_KEY_INVALID' }));
  });

  it('detects a changed wrapped key (GCM tag)', () => {
    const blob = registry.encryptionKey('trail-2026').wrap(randomBytes(32));
    blob[15]! ^= 1;
    expect(() => registry.encryptionKey('trail-2026').unwrap(blob)).toThrow(/does not authenticate/);
  });

  it('signs with Ed25519 and MACs with HMAC-SHA256', () => {
    const data = Buffer.from('tree head');
    const key = registry.signingKey('checkpoint');
    expect(verify(null, data, key.publicKey, key.sign(data))).toBe(true);
    expect(registry.hmacKey('anchor').mac(data)).toEqual(createHmac('sha256', aes).update(data).digest());
  });

  it('fails closed on an unknown id, naming the keys of that use and the fix', () => {
    expect(() => registry.encryptionKey('trail-2024')).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_UNKNOWN', detail: { key_id: 'trail-2024', use: 'encrypt' } }),
    );
    expect(() => registry.encryptionKey('trail-2024')).toThrow(/encrypt keys registered: trail-2026, trail-2025\); a key rotated out must stay registered/);
  });

  it('refuses a key asked for another use, bad material, duplicates and entries with two or no sources', () => {
    expect(() => registry.signingKey('trail-2026')).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_INVALID', message: 'key trail-2026 is registered for encrypt, not sign' }),
    );
    expect(() => createKeyRegistry([{ id: 'k', use: 'encrypt', material: 'c2hvcnQ=' }]).encryptionKey('k')).toThrow(/must be 32 bytes/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => createKeyRegistry([{ id: 's', use: 'sign', material: rsa }]).signingKey('s')).toThrow(/not an Ed25519 key/);
    expect(() => createKeyRegistry([SPECS[0]!, SPECS[0]!])).toThrow(/registered twice/);
    expect(() => createKeyRegistry([{ id: 'x', use: 'hmac' }])).toThrow(/exactly one of ref/);
  });

  it('gives an audit store its record keys: the active one and every encrypt key by id', () => {
    const keys = recordKeysOf(registry, 'trail-2026');
    expect(keys.active?.id).toBe('trail-2026');
    expect(keys.keyById('trail-2025').id).toBe('trail-2025');
    expect(recordKeysOf(registry, undefined).active).toBeUndefined();
    expect(() => recordKeysOf(registry, 'nope')).toThrow(expect.objectContaining({ code: 'ERR_KEY_UNKNOWN' }));
  });
});

describe('key registry over PKCS#11 (SoftHSM)', () => {
  let hsm: SoftHsm;
  beforeAll(() => {
    hsm = createSoftHsm();
  });
  afterAll(() => hsm?.remove());

  const inToken = (id: string, use: KeySpec['use'], label: string, pin = PIN): KeySpec => ({
    id,
    use,
    pkcs11: { module: SOFTHSM_MODULE, token: TOKEN, label, pin },
  });

  it('wraps, signs and MACs with keys that never leave the token', () => {
    const registry = createKeyRegistry([inToken('hsm-kek', 'encrypt', 'kek'), inToken('hsm-cp', 'sign', 'checkpoint'), inToken('hsm-mac', 'hmac', 'mac')]);
    try {
      expect(registry.list().map((k) => k.backend)).toEqual(['pkcs11', 'pkcs11', 'pkcs11']);
      const kek = registry.encryptionKey('hsm-kek');
      const dek = randomBytes(32);
      const blob = kek.wrap(dek);
      expect(blob.length).toBe(12 + 32 + 16);
      expect(kek.unwrap(blob)).toEqual(dek);
      blob[20]! ^= 1;
      expect(() => kek.unwrap(blob)).toThrow(expect.objectContaining({ code: 'ERR_KEY_INVALID' }));
      const signer = registry.signingKey('hsm-cp');
      const data = Buffer.from('custos.checkpoint/v1');
      expect(verify(null, data, signer.publicKey, signer.sign(data))).toBe(true);
      expect(registry.hmacKey('hsm-mac').mac(data)).toHaveLength(32);
    } finally {
      registry.close();
    }
  });

  it('a second registry on the same token works beside the first, and after it closes', () => {
    const a = createKeyRegistry([inToken('a', 'encrypt', 'kek')]);
    const b = createKeyRegistry([inToken('b', 'encrypt', 'kek')]);
    const dek = randomBytes(32);
    const wrapped = a.encryptionKey('a').wrap(dek);
    a.close();
    // Same token key under another id: the AAD is the id, so it does not open as `b`.
    expect(() => b.encryptionKey('b').unwrap(wrapped)).toThrow(expect.objectContaining({ code: 'ERR_KEY_INVALID' }));
    expect(b.encryptionKey('b').unwrap(b.encryptionKey('b').wrap(dek))).toEqual(dek);
    b.close();
  });

  it('fails closed with a clear error on a wrong PIN, token or label', () => {
    const tries: Array<[KeySpec, RegExp]> = [
      [inToken('p', 'encrypt', 'kek', '000000'), /could not be opened \(module path, token label, PIN\)/],
      [{ ...inToken('t', 'encrypt', 'kek'), pkcs11: { module: SOFTHSM_MODULE, token: 'nope', label: 'kek', pin: PIN } }, /no token labelled "nope"/],
      [inToken('l', 'encrypt', 'missing'), /no object labelled "missing"/],
    ];
    for (const [spec, message] of tries) {
      const registry = createKeyRegistry([spec]);
      try {
        expect(() => registry.encryptionKey(spec.id)).toThrow(message);
      } finally {
        registry.close();
      }
    }
  });
});
