/**
 * Encryption at rest of stored rows (envelope encryption): each store holds one random
 * AES-256 data key at a time, wrapped by the active key-encryption key of the key registry;
 * every row is sealed under it (seal-format.ts) with its wrapped form and the key's id beside
 * the ciphertext. Reading unwraps each data key once (cached) with the key its `kid` names:
 * rotating the key-encryption key changes what new rows carry, and rows sealed before stay
 * readable as long as the old key stays registered. A data key seals at most DEK_MAX_ROWS
 * rows (random 96-bit IVs), then a fresh one is drawn.
 */
import { createDecipheriv, randomBytes } from 'node:crypto';
import { CustosError } from '../kernel/index.js';
import { SEALED_SCHEMA } from './seal-format.js';
import type { SealParams } from './seal-format.js';

/** A key-encryption key (the key registry's `EncryptionKey` has this shape). */
export interface WrappingKey {
  readonly id: string;
  wrap(plain: Buffer): Buffer;
  unwrap(blob: Buffer): Buffer;
}

/** What a store is given to seal and open rows: the key new rows are sealed under (absent: written in clear) and a lookup by id. */
export interface RecordKeys {
  readonly active?: WrappingKey;
  /** Throws (ERR_KEY_UNKNOWN) for an id that is not registered. */
  keyById(id: string): WrappingKey;
}

export const DEK_MAX_ROWS = 2 ** 24;

export interface Sealer {
  /** The data key for the next row, or undefined when rows are written in clear. */
  next(): SealParams | undefined;
  /** The stored text of row `seq` in clear; throws ERR_AUDIT_DECRYPT_FAILED (`detail.reason`: `key_unknown` or `ciphertext_invalid`). */
  open(seq: number, text: string): string;
}

interface Envelope {
  readonly ct: string;
  readonly dek: string;
  readonly kid: string;
  readonly schema: string;
}

function decryptFailed(seq: number, kid: string, reason: 'key_unknown' | 'ciphertext_invalid', message: string, cause?: unknown): CustosError {
  return new CustosError('ERR_AUDIT_DECRYPT_FAILED', message, { detail: { seq, key_id: kid, reason }, ...(cause === undefined ? {} : { cause }) });
}

/** Is this stored text a sealed row? (Cheap: sealed text always starts with its `ct` member.) */
export function isSealedText(text: string): boolean {
  return text.startsWith('{"ct":');
}

export function createSealer(keys: RecordKeys | undefined): Sealer {
  const deks = new Map<string, Buffer>();
  let current: SealParams | undefined;
  let used = 0;

  function fresh(active: WrappingKey): SealParams {
    const dek = randomBytes(32);
    const wrapped = active.wrap(dek).toString('base64');
    deks.set(wrapped, dek);
    used = 0;
    return { kid: active.id, wrapped, dek };
  }

  function unwrap(seq: number, env: Envelope): Buffer {
    const known = deks.get(env.dek);
    if (known) return known;
    let key: WrappingKey;
    try {
      if (!keys) throw new Error('no key registry');
      key = keys.keyById(env.kid);
    } catch (err) {
      throw decryptFailed(
        seq,
        env.kid,
        'key_unknown',
        `row ${seq} is sealed under key "${env.kid}", which is not in the key registry: open the trail with its config (--config) and keep every key rows were sealed with registered under \`keys\``,
        err,
      );
    }
    try {
      const dek = key.unwrap(Buffer.from(env.dek, 'base64'));
      deks.set(env.dek, dek);
      return dek;
    } catch (err) {
      throw decryptFailed(
        seq,
        env.kid,
        'ciphertext_invalid',
        `row ${seq}: its data key does not unwrap under key "${env.kid}" (a changed row, or another key under that id)`,
        err,
      );
    }
  }

  return {
    next() {
      const active = keys?.active;
      if (!active) return undefined;
      if (!current || current.kid !== active.id || used >= DEK_MAX_ROWS) current = fresh(active);
      used += 1;
      return current;
    },
    open(seq, text) {
      if (!isSealedText(text)) return text;
      let env: Envelope;
      try {
        env = JSON.parse(text) as Envelope;
      } catch {
        return text; // not JSON: verification names it (unparseable)
      }
      if (env.schema !== SEALED_SCHEMA || typeof env.kid !== 'string' || typeof env.dek !== 'string' || typeof env.ct !== 'string') return text;
      const dek = unwrap(seq, env);
      try {
        const blob = Buffer.from(env.ct, 'base64');
        const decipher = createDecipheriv('aes-256-gcm', dek, blob.subarray(0, 12)).setAAD(Buffer.from(`custos.sealed/v1:${seq}`, 'utf8'));
        decipher.setAuthTag(blob.subarray(blob.length - 16));
        return Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]).toString('utf8');
      } catch (err) {
        throw decryptFailed(seq, env.kid, 'ciphertext_invalid', `row ${seq}: its ciphertext does not authenticate: the stored row was changed`, err);
      }
    },
  };
}
