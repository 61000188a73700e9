/**
 * The pack's manifest: every file's SHA-256 and size (`manifest.json`), signed with the
 * deployment's Ed25519 checkpoint key (`manifest.sig`, base64 over the manifest's bytes), and
 * its offline check (`custos evidence verify DIR`): a changed, missing or extra file is named.
 */
import { createHash, verify as verifySignature } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { keyIdOf, loadVerifyKeys } from '../audit/index.js';
import { CustosError } from '../kernel/index.js';
import { FILES } from './controls.js';

export const MANIFEST_SCHEMA = 'custos.evidence-manifest/v1';

/** The deployment's Ed25519 key (the registry's `SigningKey`, or the checkpoint key read from its PEM). */
export interface ManifestSigner {
  readonly keyId: string;
  readonly publicKey: KeyObject;
  sign(data: Buffer): Buffer;
}

export interface ManifestFile {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

interface Manifest {
  readonly schema: typeof MANIFEST_SCHEMA;
  readonly created_at: string;
  readonly files: readonly ManifestFile[];
  /** Absent when the deployment has no signing key (audit.checkpoints.signingKey): the pack is hashed, not signed. */
  readonly signature?: { readonly alg: 'Ed25519'; readonly key_id: string; readonly public_key_pem: string; readonly file: typeof FILES.signature };
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Every file under `dir`, relative, with `/` separators, sorted. */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(path.join(dir, rel)).isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Hashes every file of the pack into manifest.json and signs it (manifest.sig). */
export function signManifest(dir: string, signer: ManifestSigner | undefined, now: Date): { manifestSha256: string; listed: ManifestFile[] } {
  const listed = listFiles(dir).map((rel) => {
    const data = readFileSync(path.join(dir, rel));
    return { path: rel, sha256: sha256(data), bytes: data.length };
  });
  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA,
    created_at: now.toISOString(),
    files: listed,
    ...(signer
      ? {
          signature: {
            alg: 'Ed25519' as const,
            key_id: signer.keyId,
            public_key_pem: signer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
            file: FILES.signature,
          },
        }
      : {}),
  };
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  writeFileSync(path.join(dir, FILES.manifest), bytes);
  if (signer) writeFileSync(path.join(dir, FILES.signature), `${signer.sign(bytes).toString('base64')}\n`);
  return { manifestSha256: sha256(bytes), listed };
}

export interface PackProblem {
  readonly kind: 'changed' | 'missing' | 'extra' | 'signature_invalid' | 'unsigned' | 'key_unknown' | 'manifest_invalid';
  readonly file: string;
  readonly message: string;
}

export interface PackVerifyReport {
  readonly ok: boolean;
  readonly files: number;
  readonly keyId?: string;
  readonly problems: readonly PackProblem[];
}

function readManifest(dir: string): { bytes: Buffer; manifest: Manifest } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path.join(dir, FILES.manifest));
  } catch (err) {
    throw new CustosError('ERR_CONFIG_INVALID', `${dir} holds no ${FILES.manifest}: not an evidence pack`, { cause: err });
  }
  const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
  if (manifest.schema !== MANIFEST_SCHEMA || !Array.isArray(manifest.files))
    throw new CustosError('ERR_CONFIG_INVALID', `${FILES.manifest} is not a ${MANIFEST_SCHEMA} manifest`);
  return { bytes, manifest };
}

/** The files a pack's manifest lists (the HTTP API serves only these). */
export function manifestFiles(dir: string): { manifestSha256: string; files: readonly ManifestFile[]; createdAt: string } {
  const { bytes, manifest } = readManifest(dir);
  return { manifestSha256: sha256(bytes), files: manifest.files, createdAt: manifest.created_at };
}

/**
 * Checks a pack offline: the manifest's signature (against `trustedPems` when given, else the
 * key the manifest names, reported as such), then each listed file's hash, then that no file is
 * there that the manifest does not list.
 */
export function verifyPack(dir: string, trustedPems: readonly string[] = []): PackVerifyReport {
  const problems: PackProblem[] = [];
  let bytes: Buffer;
  let manifest: Manifest;
  try {
    ({ bytes, manifest } = readManifest(dir));
  } catch (err) {
    if (err instanceof CustosError) throw err;
    return { ok: false, files: 0, problems: [{ kind: 'manifest_invalid', file: FILES.manifest, message: 'the manifest is not JSON' }] };
  }
  const sig = manifest.signature;
  if (!sig)
    problems.push({ kind: 'unsigned', file: FILES.manifest, message: 'the manifest is not signed (the deployment had no audit.checkpoints.signingKey)' });
  else {
    const trusted = trustedPems.length ? loadVerifyKeys(trustedPems) : loadVerifyKeys([sig.public_key_pem]);
    const key = trusted.get(sig.key_id);
    if (!key) problems.push({ kind: 'key_unknown', file: FILES.manifest, message: `signed by key ${sig.key_id}, which is not among the keys given` });
    else if (keyIdOf(key) !== sig.key_id) problems.push({ kind: 'key_unknown', file: FILES.manifest, message: 'the key id does not match the key' });
    else {
      const signature = existsSync(path.join(dir, FILES.signature))
        ? Buffer.from(readFileSync(path.join(dir, FILES.signature), 'utf8').trim(), 'base64')
        : undefined;
      if (!signature) problems.push({ kind: 'missing', file: FILES.signature, message: 'the signature file is missing' });
      else if (!verifySignature(null, bytes, key, signature))
        problems.push({
          kind: 'signature_invalid',
          file: FILES.manifest,
          message: `the signature of key ${sig.key_id} does not verify: the manifest was changed`,
        });
    }
  }
  const listed = new Set<string>();
  for (const f of manifest.files) {
    listed.add(f.path);
    const file = path.join(dir, f.path);
    if (!existsSync(file)) {
      problems.push({ kind: 'missing', file: f.path, message: `${f.path} is listed in the manifest but missing` });
      continue;
    }
    const actual = sha256(readFileSync(file));
    if (actual !== f.sha256)
      problems.push({ kind: 'changed', file: f.path, message: `${f.path} changed after the pack was made (sha256 ${actual}, manifest ${f.sha256})` });
  }
  for (const rel of listFiles(dir))
    if (!listed.has(rel) && rel !== FILES.manifest && rel !== FILES.signature)
      problems.push({ kind: 'extra', file: rel, message: `${rel} is not in the manifest (added after the pack was made)` });
  const ok = problems.every((p) => p.kind === 'unsigned' && trustedPems.length === 0);
  return { ok, files: manifest.files.length, ...(sig ? { keyId: sig.key_id } : {}), problems };
}
