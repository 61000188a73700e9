/** Keys whose material Custos reads (a file or an environment variable): AES-256-GCM wrapping, Ed25519 signing, HMAC-SHA256. */
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CustosError } from '../kernel/index.js';
import type { EncryptionKey, HmacKey, SigningKey } from './types.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

function invalid(id: string, why: string, cause?: unknown): CustosError {
  return new CustosError('ERR_KEY_INVALID', `key ${id}: ${why}`, { detail: { key_id: id }, ...(cause === undefined ? {} : { cause }) });
}

/** 32 bytes from 64 hex digits or base64 (standard or url-safe); anything else is refused. */
export function parseSymmetricKey(id: string, text: string): Buffer {
  const trimmed = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (bytes.length !== 32) throw invalid(id, 'must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)');
  return bytes;
}

/** AES-256-GCM with a random 96-bit IV: iv ‖ ciphertext ‖ tag. `aad` binds the blob to its use. */
export function sealWith(key: Buffer | KeyObject, plain: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** The inverse of sealWith; throws when the blob does not authenticate. */
export function openWith(key: Buffer | KeyObject, blob: Buffer, aad: Buffer): Buffer {
  if (blob.length < IV_BYTES + TAG_BYTES) throw new Error('sealed blob too short');
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, IV_BYTES)).setAAD(aad);
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  return Buffer.concat([decipher.update(blob.subarray(IV_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
}

/** The AAD of a wrapped data key: the key id, so a blob moved under another id does not open. */
export const wrapAad = (id: string): Buffer => Buffer.from(`custos.key-wrap/v1:${id}`, 'utf8');

export function materialEncryptionKey(id: string, text: string): EncryptionKey {
  const key = parseSymmetricKey(id, text);
  return {
    id,
    wrap: (plain) => sealWith(key, plain, wrapAad(id)),
    unwrap(blob) {
      try {
        return openWith(key, blob, wrapAad(id));
      } catch (err) {
        throw invalid(id, 'a data key wrapped under this id does not authenticate (another key under the same id, or a changed blob)', err);
      }
    },
  };
}

export function materialHmacKey(id: string, text: string): HmacKey {
  const key = parseSymmetricKey(id, text);
  return { id, mac: (data) => createHmac('sha256', key).update(data).digest() };
}

export function materialSigningKey(id: string, pem: string): SigningKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw invalid(id, 'is not a PEM private key', err);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw invalid(id, 'is not an Ed25519 key (checkpoints are signed with Ed25519)');
  return { id, publicKey: createPublicKey(key), sign: (data) => sign(null, data, key) };
}
