/**
 * Signed checkpoints: an Ed25519 signature over the head of the Merkle tree of the rows'
 * chain hashes. The signed form is the RFC 8785 canonical JSON of
 *   { "schema": "custos.checkpoint/v1", "tree_size": N, "root_hash": HEX, "key_id": ID }
 * as UTF-8. A key's id is the first 16 hex digits of SHA-256 of its SPKI (DER) public key,
 * so a verifier given several public keys (rotation) picks the one a checkpoint names.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CustosError, canonicalize } from '../kernel/index.js';

export const CHECKPOINT_SCHEMA = 'custos.checkpoint/v1' as const;

/** A checkpoint as a row carries it, and as `custos audit prove` prints it. */
export interface Checkpoint {
  readonly tree_size: number;
  readonly root_hash: string;
  readonly key_id: string;
  readonly signature: string;
}

export interface CheckpointSigner {
  readonly keyId: string;
  /** The public half, to verify this signer's checkpoints (e.g. a row's inclusion proof in the console). */
  readonly publicKey: KeyObject;
  sign(head: { treeSize: number; rootHash: string }): Checkpoint;
}

/** The bytes a checkpoint's signature covers. */
export function checkpointSignedBytes(c: Pick<Checkpoint, 'tree_size' | 'root_hash' | 'key_id'>): Buffer {
  return Buffer.from(canonicalize({ schema: CHECKPOINT_SCHEMA, tree_size: c.tree_size, root_hash: c.root_hash, key_id: c.key_id }), 'utf8');
}

/** First 16 hex of SHA-256(SPKI DER). */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function asEd25519(key: KeyObject, kind: 'private' | 'public'): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new CustosError('ERR_CONFIG_INVALID', `the checkpoint ${kind} key is not an Ed25519 key`);
  return key;
}

/** A signer from a PKCS#8 PEM private key (the text of `audit.checkpoints.signingKey`). */
export function createCheckpointSigner(privateKeyPem: string): CheckpointSigner {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (err) {
    throw new CustosError('ERR_CONFIG_INVALID', 'the checkpoint signing key is not a PEM private key', { cause: err });
  }
  asEd25519(key, 'private');
  return signerFromKey({ publicKey: createPublicKey(key), sign: (data) => sign(null, data, key) });
}

/** A signer over a key that signs by itself (a registry key, possibly in a PKCS#11 token). */
export function signerFromKey(key: { readonly publicKey: KeyObject; sign(data: Buffer): Buffer }): CheckpointSigner {
  const keyId = keyIdOf(asEd25519(key.publicKey, 'public'));
  return {
    keyId,
    publicKey: key.publicKey,
    sign: ({ treeSize, rootHash }) => {
      const body = { tree_size: treeSize, root_hash: rootHash, key_id: keyId };
      return { ...body, signature: key.sign(checkpointSignedBytes(body)).toString('base64url') };
    },
  };
}

/**
 * The signer `audit.checkpoints.signingKey` names: `key:ID`, a `sign` key of the key registry
 * (`signingKeyById` looks it up, and throws for an unknown id), or the PEM text of a resolved
 * `file:`/`env:` reference.
 */
export function checkpointSignerOf(
  signingKey: string,
  signingKeyById: (id: string) => { readonly publicKey: KeyObject; sign(data: Buffer): Buffer },
): CheckpointSigner {
  return signingKey.startsWith('key:') ? signerFromKey(signingKeyById(signingKey.slice(4))) : createCheckpointSigner(signingKey);
}

/** Public keys by id, from PEM texts (SPKI public keys, or private keys whose public half is taken). */
export function loadVerifyKeys(pems: readonly string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const pem of pems) {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new CustosError('ERR_CONFIG_INVALID', 'a checkpoint public key is not a PEM key', { cause: err });
    }
    keys.set(keyIdOf(asEd25519(key, 'public')), key);
  }
  return keys;
}

export type CheckpointCheck = { ok: true } | { ok: false; reason: 'key_unknown' | 'signature_invalid' | 'malformed' };

const HEX64 = /^[0-9a-f]{64}$/;

/** Checks a checkpoint's shape and signature against the key its key_id names. */
export function verifyCheckpointSignature(c: unknown, keys: ReadonlyMap<string, KeyObject>): CheckpointCheck {
  if (!isCheckpoint(c)) return { ok: false, reason: 'malformed' };
  const key = keys.get(c.key_id);
  if (!key) return { ok: false, reason: 'key_unknown' };
  const signature = Buffer.from(c.signature, 'base64url');
  if (signature.length !== 64 || signature.toString('base64url') !== c.signature) return { ok: false, reason: 'signature_invalid' };
  return verify(null, checkpointSignedBytes(c), key, signature) ? { ok: true } : { ok: false, reason: 'signature_invalid' };
}

export function isCheckpoint(c: unknown): c is Checkpoint {
  if (typeof c !== 'object' || c === null) return false;
  const v = c as Partial<Checkpoint>;
  return (
    Number.isSafeInteger(v.tree_size) &&
    (v.tree_size ?? -1) >= 0 &&
    typeof v.root_hash === 'string' &&
    HEX64.test(v.root_hash) &&
    typeof v.key_id === 'string' &&
    typeof v.signature === 'string'
  );
}
