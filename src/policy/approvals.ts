/**
 * The two-person rule. An approval is a detached Ed25519 signature over the bundle hash (the
 * 64 lower-case hex characters, as ASCII), base64 in `.approvals/<approver id>.sig` beside
 * the bundle: outside the hashed files, so adding an approval never changes the hash. The
 * author (`bundle.yaml` `author`) signs too; a bundle activates only with
 * `requiredApprovals` valid signatures of configured approvers other than the author, or,
 * where the config allows emergency changes, as an emergency change (`emergency: true`)
 * signed by its author alone. An auditor verifies one with openssl:
 *   printf %s HASH > msg && base64 -d .approvals/ID.sig > sig && openssl pkeyutl -verify -pubin -inkey ID.pem -rawin -in msg -sigfile sig
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustosError } from '../kernel/index.js';
import type { BundleManifest } from './manifest.js';

export const APPROVALS_DIR = '.approvals';
const APPROVER_ID = /^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/;

export interface Approver {
  readonly id: string;
  /** Ed25519 public key (SPKI PEM). */
  readonly publicKey: string;
}

export interface ApprovalSettings {
  /** Distinct approvers other than the author (default 1). */
  readonly requiredApprovals: number;
  /** Who may approve; empty: the two-person rule is off (every activation says `approvals: unsigned`). */
  readonly approvers: readonly Approver[];
  /** A bundle marked `emergency: true` may activate with its author's signature alone. */
  readonly allowEmergency: boolean;
}

export type ApprovalVerdict =
  | { readonly ok: true; readonly author?: string; readonly approvers: readonly string[]; readonly emergency: boolean; readonly unsigned: boolean }
  | {
      readonly ok: false;
      readonly reason: ApprovalRefusal;
      readonly author?: string;
      readonly approvers: readonly string[];
      readonly invalid: readonly string[];
    };

export type ApprovalRefusal = 'author_missing' | 'author_not_signed' | 'approvals_insufficient' | 'emergency_not_allowed';

/** The bytes an approval signs: the bundle hash as ASCII hex. */
function message(bundleHash: string): Buffer {
  return Buffer.from(bundleHash, 'ascii');
}

/** Signs a bundle hash with an Ed25519 private key (PKCS#8 PEM): base64. */
export function signBundleHash(bundleHash: string, privateKeyPem: string): string {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (err) {
    throw new CustosError('ERR_POLICY_APPROVAL_INVALID', 'The signing key is not a PEM private key; give an Ed25519 PKCS#8 PEM file.', { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CustosError('ERR_POLICY_APPROVAL_INVALID', 'The signing key must be Ed25519.');
  return sign(null, message(bundleHash), key).toString('base64');
}

/** Writes an approval beside the bundle (`.approvals/ID.sig`); returns its path. */
export async function writeApproval(dir: string, approverId: string, signature: string): Promise<string> {
  if (!APPROVER_ID.test(approverId)) throw new CustosError('ERR_POLICY_APPROVAL_INVALID', `The approver id must match ${APPROVER_ID.source}.`);
  await mkdir(join(dir, APPROVALS_DIR), { recursive: true });
  const path = join(dir, APPROVALS_DIR, `${approverId}.sig`);
  await writeFile(path, `${signature}\n`);
  return path;
}

/** Every approval file beside a bundle: approver id → signature (base64). */
export async function readApprovals(dir: string): Promise<ReadonlyMap<string, string>> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = await readdir(join(dir, APPROVALS_DIR));
  } catch {
    return out;
  }
  for (const name of names) {
    const id = name.endsWith('.sig') ? name.slice(0, -4) : '';
    if (!APPROVER_ID.test(id)) continue;
    out.set(id, (await readFile(join(dir, APPROVALS_DIR, name), 'utf8')).trim());
  }
  return out;
}

/** Approver ids whose signature verifies over the hash, and ids whose does not (or who are not configured). */
export function verifySignatures(
  bundleHash: string,
  signatures: ReadonlyMap<string, string>,
  approvers: readonly Approver[],
): { valid: string[]; invalid: string[] } {
  const keys = new Map(approvers.map((a) => [a.id, a.publicKey]));
  const valid: string[] = [];
  const invalid: string[] = [];
  for (const [id, signature] of signatures) {
    const pem = keys.get(id);
    let ok = false;
    try {
      ok = pem !== undefined && verify(null, message(bundleHash), createPublicKey(pem), Buffer.from(signature, 'base64'));
    } catch {
      ok = false;
    }
    (ok ? valid : invalid).push(id);
  }
  return { valid: valid.sort(), invalid: invalid.sort() };
}

/** Applies the two-person rule to a bundle's manifest and the signatures beside it. */
export function checkApprovals(
  bundleHash: string,
  manifest: BundleManifest,
  signatures: ReadonlyMap<string, string>,
  settings: ApprovalSettings,
): ApprovalVerdict {
  const { valid, invalid } = verifySignatures(bundleHash, signatures, settings.approvers);
  const author = manifest.author;
  if (settings.approvers.length === 0) return { ok: true, author, approvers: valid, emergency: manifest.emergency, unsigned: true };
  const refuse = (reason: ApprovalRefusal): ApprovalVerdict => ({ ok: false, reason, author, approvers: valid, invalid });
  if (author === undefined) return refuse('author_missing');
  if (!valid.includes(author)) return refuse('author_not_signed');
  const others = valid.filter((id) => id !== author);
  if (manifest.emergency) {
    if (!settings.allowEmergency) return refuse('emergency_not_allowed');
    return { ok: true, author, approvers: others, emergency: true, unsigned: false };
  }
  if (others.length < settings.requiredApprovals) return refuse('approvals_insufficient');
  return { ok: true, author, approvers: others, emergency: false, unsigned: false };
}
