/**
 * Keys held in a PKCS#11 token (an HSM; SoftHSM in tests), through the `pkcs11js` binding,
 * loaded only when a registry entry names a token. The key never leaves the token: a data key
 * is wrapped with CKM_AES_GCM, a checkpoint is signed with CKM_EDDSA (Ed25519), an HMAC is
 * CKM_SHA256_HMAC. Calls are synchronous and short (a wrap happens once per data key).
 */
import { createPublicKey, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Pkcs11js from 'pkcs11js';
import { CustosError } from '../kernel/index.js';
import { wrapAad } from './material.js';
import type { EncryptionKey, HmacKey, KeyUse, Pkcs11Location, SigningKey } from './types.js';

/** Mechanisms pkcs11js has no constant for (PKCS#11 3.0 values). */
const CKM_EDDSA = 0x1057;
const CKM_SHA256_HMAC = 0x0251;
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const IV_BYTES = 12;
const TAG_BYTES = 16;

type Module = typeof Pkcs11js;
type Handle = Pkcs11js.Handle;

interface OpenToken {
  readonly lib: Module;
  readonly p11: Pkcs11js.PKCS11;
  readonly session: Handle;
}

const require = createRequire(import.meta.url);

/** A module is initialised once per process (C_Initialize is process-wide) and finalised when its last registry closes. */
const loaded = new Map<string, { p11: Pkcs11js.PKCS11; refs: number }>();

function acquire(lib: Module, module: string): Pkcs11js.PKCS11 {
  let entry = loaded.get(module);
  if (!entry) {
    const p11 = new lib.PKCS11();
    p11.load(module);
    p11.C_Initialize();
    entry = { p11, refs: 0 };
    loaded.set(module, entry);
  }
  entry.refs += 1;
  return entry.p11;
}

function release(module: string): void {
  const entry = loaded.get(module);
  if (!entry || --entry.refs > 0) return;
  loaded.delete(module);
  try {
    entry.p11.C_Finalize();
  } catch {
    // already finalized
  }
}

function fail(id: string, why: string, cause?: unknown): CustosError {
  return new CustosError('ERR_KEY_INVALID', `key ${id} (PKCS#11): ${why}`, { detail: { key_id: id }, ...(cause === undefined ? {} : { cause }) });
}

/** The login state is per process and token: a second registry on the same token finds it logged in already. */
function loginOnce(p11: Pkcs11js.PKCS11, lib: Module, session: Handle, pin: string): void {
  try {
    p11.C_Login(session, lib.CKU_USER, pin);
  } catch (err) {
    if (!/CKR_USER_ALREADY_LOGGED_IN/.test(String((err as Error).message))) throw err;
  }
}

/** One session per (module, token) for the life of a registry; `close` closes them (the last registry on a module finalizes it). */
export function createPkcs11Sessions(): { keyFor(id: string, use: KeyUse, where: Pkcs11Location): EncryptionKey | SigningKey | HmacKey; close(): void } {
  const tokens = new Map<string, OpenToken>();
  const modules = new Map<string, Pkcs11js.PKCS11>();

  function open(id: string, where: Pkcs11Location): OpenToken {
    const name = `${where.module}\0${where.token}`;
    const known = tokens.get(name);
    if (known) return known;
    let lib: Module;
    try {
      lib = require('pkcs11js') as Module;
    } catch (err) {
      throw fail(id, 'the pkcs11js binding is not installed (npm install pkcs11js)', err);
    }
    try {
      let p11 = modules.get(where.module);
      if (!p11) {
        p11 = acquire(lib, where.module);
        modules.set(where.module, p11);
      }
      const slot = p11.C_GetSlotList(true).find((s) => p11!.C_GetTokenInfo(s).label.trim() === where.token);
      if (slot === undefined) throw fail(id, `no token labelled "${where.token}" in ${where.module}`);
      const session = p11.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
      loginOnce(p11, lib, session, where.pin);
      const token = { lib, p11, session };
      tokens.set(name, token);
      return token;
    } catch (err) {
      if (err instanceof CustosError) throw err;
      throw fail(id, `the token "${where.token}" could not be opened (module path, token label, PIN)`, err);
    }
  }

  function find(id: string, t: OpenToken, label: string, objectClass: number): Handle {
    t.p11.C_FindObjectsInit(t.session, [
      { type: t.lib.CKA_LABEL, value: label },
      { type: t.lib.CKA_CLASS, value: objectClass },
    ]);
    const found = t.p11.C_FindObjects(t.session, 2);
    t.p11.C_FindObjectsFinal(t.session);
    if (found.length !== 1) throw fail(id, `${found.length === 0 ? 'no' : 'more than one'} object labelled "${label}" of the needed class in the token`);
    return found[0]!;
  }

  function gcm(t: OpenToken, iv: Buffer, aad: Buffer): Pkcs11js.Mechanism {
    const parameter: Pkcs11js.GcmParams = { type: t.lib.CK_PARAMS_GCM, iv, ivBits: IV_BYTES * 8, aad, tagBits: TAG_BYTES * 8 };
    return { mechanism: t.lib.CKM_AES_GCM, parameter };
  }

  function encryptionKey(id: string, t: OpenToken, key: Handle): EncryptionKey {
    return {
      id,
      wrap(plain) {
        const iv = randomBytes(IV_BYTES);
        t.p11.C_EncryptInit(t.session, gcm(t, iv, wrapAad(id)), key);
        return Buffer.concat([iv, t.p11.C_Encrypt(t.session, plain, Buffer.alloc(plain.length + TAG_BYTES))]);
      },
      unwrap(blob) {
        try {
          t.p11.C_DecryptInit(t.session, gcm(t, blob.subarray(0, IV_BYTES), wrapAad(id)), key);
          return Buffer.from(t.p11.C_Decrypt(t.session, blob.subarray(IV_BYTES), Buffer.alloc(blob.length)));
        } catch (err) {
          throw fail(id, 'a data key wrapped under this id does not authenticate (another key under the same id, or a changed blob)', err);
        }
      },
    };
  }

  function signingKey(id: string, t: OpenToken, label: string): SigningKey {
    const privateKey = find(id, t, label, t.lib.CKO_PRIVATE_KEY);
    const point = t.p11.C_GetAttributeValue(t.session, find(id, t, label, t.lib.CKO_PUBLIC_KEY), [{ type: t.lib.CKA_EC_POINT }])[0]?.value;
    // CKA_EC_POINT is the 32-byte point, usually DER-wrapped as an OCTET STRING (04 20 ‖ point).
    const raw = Buffer.isBuffer(point) && point.length === 34 && point[0] === 0x04 ? point.subarray(2) : point;
    if (!Buffer.isBuffer(raw) || raw.length !== 32) throw fail(id, `the public key "${label}" is not an Ed25519 point`);
    const publicKey = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    return {
      id,
      publicKey,
      sign(data) {
        t.p11.C_SignInit(t.session, { mechanism: CKM_EDDSA }, privateKey);
        return Buffer.from(t.p11.C_Sign(t.session, data, Buffer.alloc(64)));
      },
    };
  }

  function hmacKey(id: string, t: OpenToken, key: Handle): HmacKey {
    return {
      id,
      mac(data) {
        t.p11.C_SignInit(t.session, { mechanism: CKM_SHA256_HMAC }, key);
        return Buffer.from(t.p11.C_Sign(t.session, data, Buffer.alloc(32)));
      },
    };
  }

  return {
    keyFor(id, use, where) {
      const t = open(id, where);
      try {
        if (use === 'sign') return signingKey(id, t, where.label);
        const secret = find(id, t, where.label, t.lib.CKO_SECRET_KEY);
        return use === 'encrypt' ? encryptionKey(id, t, secret) : hmacKey(id, t, secret);
      } catch (err) {
        if (err instanceof CustosError) throw err;
        throw fail(id, `the key "${where.label}" could not be read from the token`, err);
      }
    },
    close() {
      for (const t of tokens.values()) {
        try {
          t.p11.C_CloseSession(t.session);
        } catch {
          // the token went away; nothing left to release
        }
      }
      tokens.clear();
      for (const module of modules.keys()) release(module);
      modules.clear();
    },
  };
}
