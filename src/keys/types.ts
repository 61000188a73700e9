/** The key registry's types: what a key is for, where it lives, and the operations it offers. */
import type { KeyObject } from 'node:crypto';

/**
 * What a key is for: `encrypt` wraps data keys (at-rest encryption), `sign` signs checkpoints,
 * `hmac` authenticates; `secret` is a secret handed to another system as it is (a webhook sink's
 * HMAC secret, S3 credentials), read from the registry entry when the config is loaded.
 */
export type KeyUse = 'encrypt' | 'sign' | 'hmac' | 'secret';

/** A key held in a PKCS#11 token (an HSM, SoftHSM in tests): it never leaves the token. */
export interface Pkcs11Location {
  /** The PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  /** The token's label. */
  readonly token: string;
  /** The key object's label (CKA_LABEL); for `sign`, the private and the public key both carry it. */
  readonly label: string;
  /** The user PIN, already resolved from its secret reference. */
  readonly pin: string;
}

/** One registry entry as the resolved config gives it: exactly one of `material` (from `file:`/`env:`) or `pkcs11`. */
export interface KeySpec {
  readonly id: string;
  readonly use: KeyUse;
  /** The key's text: 32 bytes as base64 or hex (`encrypt`, `hmac`), a PKCS#8 PEM Ed25519 private key (`sign`), any text (`secret`). */
  readonly material?: string;
  readonly pkcs11?: Pkcs11Location;
}

/** A key-encryption key: wraps and unwraps data keys (AES-256-GCM; the output is iv ‖ ciphertext ‖ tag). */
export interface EncryptionKey {
  readonly id: string;
  wrap(plain: Buffer): Buffer;
  /** Throws ERR_KEY_INVALID when the blob does not authenticate under this key. */
  unwrap(blob: Buffer): Buffer;
}

/** An Ed25519 signing key; `publicKey` is what verifiers are given. */
export interface SigningKey {
  readonly id: string;
  readonly publicKey: KeyObject;
  sign(data: Buffer): Buffer;
}

export interface HmacKey {
  readonly id: string;
  /** HMAC-SHA256. */
  mac(data: Buffer): Buffer;
}

/** Every key Custos holds, by id. A lookup of an id that is not there, or of a key for another use, throws (fail closed). */
export interface KeyRegistry {
  /** Each key's id and use, in config order (never its material). */
  list(): ReadonlyArray<{ readonly id: string; readonly use: KeyUse; readonly backend: 'material' | 'pkcs11' }>;
  encryptionKey(id: string): EncryptionKey;
  signingKey(id: string): SigningKey;
  hmacKey(id: string): HmacKey;
  /** Closes PKCS#11 sessions. */
  close(): void;
}
