/**
 * Reads a bundle directory and computes its hash. The manifest is every regular file
 * under the directory (recursively, skipping names that start with "."), as POSIX
 * relative paths sorted bytewise; the manifest text is what `sha256sum` prints for
 * them, and the bundle hash is the SHA-256 of that text. See docs/policy.md.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustosError, sha256Hex } from '../kernel/index.js';
import type { BundleDigest, ManifestEntry } from './types.js';

/** Path segments are restricted so the documented shell pipeline (xargs sha256sum) hashes them identically. */
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._+=,@-]*$/;

export interface BundleFile {
  readonly path: string;
  readonly bytes: Buffer;
}

export interface BundleFiles {
  readonly files: readonly BundleFile[];
  readonly problems: readonly string[];
}

/** Reads every manifest file of a bundle into memory (so hash and parse see the same bytes). */
export async function readBundleFiles(dir: string): Promise<BundleFiles> {
  const files: BundleFile[] = [];
  const problems: string[] = [];
  try {
    if (!(await lstat(dir)).isDirectory()) return { files, problems: [`${dir}: not a directory`] };
  } catch {
    return { files, problems: [`${dir}: bundle directory not found`] };
  }
  await walkDir(dir, '', files, problems);
  files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  return { files, problems };
}

async function walkDir(root: string, rel: string, files: BundleFile[], problems: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch {
    problems.push(`${rel === '' ? '.' : rel}: directory cannot be read`);
    return;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (!entry.isDirectory() && !entry.isFile()) continue; // symlinks etc.: find -type f skips them too
    if (!SAFE_SEGMENT.test(entry.name)) {
      problems.push(`${path}: name must match ${SAFE_SEGMENT.source} (so sha256sum hashes it verbatim)`);
    } else if (entry.isDirectory()) {
      await walkDir(root, path, files, problems);
    } else {
      files.push({ path, bytes: await readFile(join(root, path)) });
    }
  }
}

/** The digest of files already read (sorted bytewise by path). */
export function digestBundleFiles(files: readonly BundleFile[]): BundleDigest {
  const manifest: ManifestEntry[] = files.map((f) => ({ path: f.path, sha256: sha256Hex(f.bytes) }));
  const manifestText = manifest.map((m) => `${m.sha256}  ${m.path}\n`).join('');
  return { bundleHash: sha256Hex(manifestText), manifest, manifestText };
}

/** Reads a bundle directory and returns its hash and manifest; throws ERR_POLICY_BUNDLE_INVALID when unreadable. */
export async function computeBundleHash(dir: string): Promise<BundleDigest> {
  const { files, problems } = await readBundleFiles(dir);
  if (problems.length > 0) {
    throw new CustosError('ERR_POLICY_BUNDLE_INVALID', `Policy bundle cannot be hashed: ${problems.join('; ')}`, {
      detail: { problems },
    });
  }
  return digestBundleFiles(files);
}
