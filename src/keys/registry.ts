/**
 * The one key registry: every key Custos holds (checkpoint signing, at-rest encryption,
 * anchor and webhook HMACs), by id, from its reference (a file, an environment variable, or
 * a PKCS#11 token). Keys are built when first asked for and then kept; an id that is not
 * registered, or a key asked for another use than the one it is registered for, throws
 * (fail closed, with the fix in the message).
 */
import { CustosError } from '../kernel/index.js';
import { materialEncryptionKey, materialHmacKey, materialSigningKey } from './material.js';
import { createPkcs11Sessions } from './pkcs11.js';
import type { EncryptionKey, HmacKey, KeyRegistry, KeySpec, KeyUse, SigningKey } from './types.js';

export function createKeyRegistry(specs: readonly KeySpec[]): KeyRegistry {
  const byId = new Map<string, KeySpec>();
  for (const spec of specs) {
    if (byId.has(spec.id)) throw new CustosError('ERR_KEY_INVALID', `key ${spec.id} is registered twice`, { detail: { key_id: spec.id } });
    if ((spec.material === undefined) === (spec.pkcs11 === undefined))
      throw new CustosError('ERR_KEY_INVALID', `key ${spec.id} needs exactly one of ref (file:/env:) or pkcs11`, { detail: { key_id: spec.id } });
    if (spec.use === 'secret' && spec.material === undefined)
      throw new CustosError('ERR_KEY_INVALID', `key ${spec.id} is a secret handed out as it is: give ref, not pkcs11`, { detail: { key_id: spec.id } });
    byId.set(spec.id, spec);
  }
  const built = new Map<string, EncryptionKey | SigningKey | HmacKey>();
  const tokens = createPkcs11Sessions();

  function spec(id: string, use: KeyUse): KeySpec {
    const found = byId.get(id);
    if (!found) {
      const known = [...byId.values()].filter((s) => s.use === use).map((s) => s.id);
      throw new CustosError(
        'ERR_KEY_UNKNOWN',
        `no ${use} key with id "${id}" in the key registry (keys in config${known.length ? `; ${use} keys registered: ${known.join(', ')}` : ''}); a key rotated out must stay registered while rows sealed with it are kept`,
        { detail: { key_id: id, use } },
      );
    }
    if (found.use !== use) throw new CustosError('ERR_KEY_INVALID', `key ${id} is registered for ${found.use}, not ${use}`, { detail: { key_id: id, use } });
    return found;
  }

  function build<K>(id: string, use: KeyUse, fromMaterial: (id: string, text: string) => K): K {
    const s = spec(id, use); // first: a key cached for one use is never handed out for another
    const known = built.get(id);
    if (known) return known as K;
    const key = s.material !== undefined ? fromMaterial(id, s.material) : (tokens.keyFor(id, use, s.pkcs11!) as K);
    built.set(id, key as EncryptionKey | SigningKey | HmacKey);
    return key;
  }

  return {
    list: () => [...byId.values()].map((s) => ({ id: s.id, use: s.use, backend: s.pkcs11 ? 'pkcs11' : 'material' })),
    encryptionKey: (id) => build(id, 'encrypt', materialEncryptionKey),
    signingKey: (id) => build(id, 'sign', materialSigningKey),
    hmacKey: (id) => build(id, 'hmac', materialHmacKey),
    close: () => tokens.close(),
  };
}

/** What an audit store takes (the audit module's RecordKeys): the key new rows are sealed under, if any, and every encrypt key by id. */
export function recordKeysOf(
  registry: Pick<KeyRegistry, 'encryptionKey'>,
  activeId: string | undefined,
): { readonly active?: EncryptionKey; keyById(id: string): EncryptionKey } {
  const keyById = (id: string): EncryptionKey => registry.encryptionKey(id);
  return activeId === undefined ? { keyById } : { active: keyById(activeId), keyById };
}
