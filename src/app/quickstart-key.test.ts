import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCheckpointSigner } from '../audit/index.js';
import { ensureCheckpointKey } from './quickstart-key.js';

const fresh = (): string => mkdtempSync(path.join(tmpdir(), 'custos-qkey-'));

describe("the quick start's checkpoint key", () => {
  it('is created when missing (directory too): Ed25519, PKCS#8 PEM, mode 0600; a second start keeps it', () => {
    const file = path.join(fresh(), 'data/nested/checkpoint-key.pem');
    const first = ensureCheckpointKey(file);
    expect(first.created).toBe(true);
    const pem = readFileSync(file, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.keyId).toBe(createCheckpointSigner(pem).keyId);
    const again = ensureCheckpointKey(file);
    expect(again).toEqual({ file, keyId: first.keyId, created: false });
    expect(readFileSync(file, 'utf8')).toBe(pem);
  });

  it('never overwrites a file that is not such a key: an error naming the file and the fix', () => {
    const dir = fresh();
    const cases = {
      'text.pem': 'not a key\n',
      'p256.pem': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      'public.pem': generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }),
    };
    for (const [name, text] of Object.entries(cases)) {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      expect(() => ensureCheckpointKey(file), name).toThrow(
        expect.objectContaining({
          code: 'ERR_CONFIG_INVALID',
          message: expect.stringContaining(`${file} is not an Ed25519 private key in PKCS#8 PEM: move it away and run the quick start again`),
        }),
      );
      expect(readFileSync(file, 'utf8'), name).toBe(text);
    }
    expect(() => ensureCheckpointKey(path.join(dir, 'text.pem'))).toThrow(`openssl genpkey -algorithm ed25519 -out ${path.join(dir, 'text.pem')}`);
  });
});
