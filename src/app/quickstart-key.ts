/**
 * The quick start's checkpoint signing key: created on the first `npm start` (an Ed25519
 * private key, PKCS#8 PEM, mode 0600), never overwritten, and checked when it is there.
 * A dev key: production keys come from a secret store or a PKCS#11 token (docs/deploy.md).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCheckpointSigner } from '../audit/index.js';
import { checkpointKeyCommand } from '../config/index.js';
import { CustosError } from '../kernel/index.js';

export interface QuickstartKey {
  readonly file: string;
  /** The checkpoint key id (first 16 hex of SHA-256 of the public key). */
  readonly keyId: string;
  /** True when this start wrote the file. */
  readonly created: boolean;
}

/** The key at `file`, created when missing (its directory too); an existing file that is not such a key is an error naming it. */
export function ensureCheckpointKey(file: string): QuickstartKey {
  let created = false;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' }); // wx: never over an existing key
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new CustosError(
        'ERR_CONFIG_INVALID',
        `cannot create the checkpoint signing key ${file}: make its directory writable, or create the key by hand (\`${checkpointKeyCommand(file)}\`)`,
        {
          cause: err,
        },
      );
    }
  }
  return { file, keyId: readKeyId(file), created };
}

function readKeyId(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CustosError('ERR_CONFIG_INVALID', `the checkpoint signing key ${file} cannot be read: make it readable by this user (mode 0600)`, { cause: err });
  }
  try {
    return createCheckpointSigner(pem).keyId;
  } catch (err) {
    throw new CustosError(
      'ERR_CONFIG_INVALID',
      `${file} is not an Ed25519 private key in PKCS#8 PEM: move it away and run the quick start again, which creates a new one, or create one by hand (\`${checkpointKeyCommand(file)}\`)`,
      { cause: err },
    );
  }
}
