/**
 * Every activated bundle's files, kept by hash: a content-addressed directory
 * `policy.stateDir/bundles/HASH/` (the last good bundle is one of them). Reading a version
 * re-hashes its files, so an archived copy that was altered is named, never shown as the
 * version. The console's policy page lists the versions and diffs any two, file by file.
 */
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CustosError } from '../kernel/index.js';
import { digestBundleFiles, readBundleFiles } from './bundle-hash.js';
import { MANIFEST_FILE, parseManifest } from './manifest.js';
import type { LoadedBundle } from './types.js';

const HASH = /^[0-9a-f]{64}$/;
export const archiveDir = (stateDir: string): string => join(stateDir, 'bundles');

/** Copies a verified bundle (with its approvals) to `bundles/HASH` unless it is there already, intact. */
export async function archiveBundle(stateDir: string, bundle: LoadedBundle): Promise<string> {
  const target = join(archiveDir(stateDir), bundle.bundleHash);
  if (
    await readVersion(stateDir, bundle.bundleHash).then(
      () => true,
      () => false,
    )
  )
    return target;
  await rm(target, { recursive: true, force: true }); // an altered copy is replaced
  const staging = `${target}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(archiveDir(stateDir), { recursive: true });
  await cp(bundle.dir, staging, { recursive: true, filter: (src) => !src.split('/').includes('.git') });
  await rename(staging, target).catch(async (err: unknown) => {
    await rm(staging, { recursive: true, force: true });
    if (!(await stat(target).catch(() => undefined))) throw err; // another process archived it first: fine
  });
  return target;
}

export interface ArchivedVersion {
  readonly hash: string;
  readonly name: string | null;
  readonly version: number | null;
  readonly mode: string | null;
  readonly files: number;
  /** When this node archived it. */
  readonly archived_at: string;
}

async function readVersion(stateDir: string, hash: string) {
  if (!HASH.test(hash)) throw new CustosError('ERR_GATEWAY_BAD_REQUEST', 'a policy version is a bundle hash: 64 lowercase hex digits');
  const dir = join(archiveDir(stateDir), hash);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new CustosError('ERR_GATEWAY_NOT_FOUND', `policy version ${hash} is not archived here`);
  const { files } = await readBundleFiles(dir);
  if (digestBundleFiles(files).bundleHash !== hash)
    throw new CustosError('ERR_POLICY_BUNDLE_INVALID', `the archived copy of policy version ${hash} does not hash to its name: it was altered`);
  return { files, archivedAt: info.mtime.toISOString() };
}

/** Every archived version, newest bundle version first; altered copies are left out. */
export async function listVersions(stateDir: string): Promise<ArchivedVersion[]> {
  const names = await readdir(archiveDir(stateDir)).catch(() => [] as string[]);
  const out: ArchivedVersion[] = [];
  for (const hash of names.filter((n) => HASH.test(n))) {
    const read = await readVersion(stateDir, hash).catch(() => undefined);
    if (!read) continue;
    const yaml = read.files.find((f) => f.path === MANIFEST_FILE);
    const manifest = yaml ? parseManifest(yaml.bytes.toString('utf8')).manifest : null;
    out.push({
      hash,
      name: manifest?.name ?? null,
      version: manifest?.version ?? null,
      mode: manifest?.mode ?? null,
      files: read.files.length,
      archived_at: read.archivedAt,
    });
  }
  return out.sort((a, b) => (b.version ?? -1) - (a.version ?? -1) || b.archived_at.localeCompare(a.archived_at));
}

/** Lines kept, removed and added, by a longest common subsequence of the lines. */
function lineEdits(a: readonly string[], b: readonly string[]): Array<[' ' | '-' | '+', string]> {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: Array<[' ' | '-' | '+', string]> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push([' ', a[i++]!]);
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(['-', a[i++]!]);
    else out.push(['+', b[j++]!]);
  }
  return out;
}

/** Most lines a file may have for a line diff (beyond it the change is shown as the whole file replaced). */
export const MAX_DIFF_LINES = 4000;
const CONTEXT = 3;

/** A unified diff (`diff -u` format, 3 lines of context) of one file's two texts. */
export function unifiedDiff(path: string, before: string | undefined, after: string | undefined): string {
  const split = (t: string | undefined) => (t === undefined || t === '' ? [] : t.replace(/\n$/, '').split('\n'));
  const a = split(before);
  const b = split(after);
  const edits =
    a.length > MAX_DIFF_LINES || b.length > MAX_DIFF_LINES
      ? [...a.map((l) => ['-', l] as ['-', string]), ...b.map((l) => ['+', l] as ['+', string])]
      : lineEdits(a, b);
  const lines = [`--- ${before === undefined ? '/dev/null' : `a/${path}`}`, `+++ ${after === undefined ? '/dev/null' : `b/${path}`}`];
  const changed = edits.flatMap((e, idx) => (e[0] === ' ' ? [] : [idx]));
  // Hunks: changes less than 2*CONTEXT kept lines apart share one, with CONTEXT kept lines around.
  const groups: Array<[number, number]> = [];
  for (const idx of changed) {
    const last = groups.at(-1);
    if (last && idx - last[1] <= 2 * CONTEXT + 1) last[1] = idx;
    else groups.push([idx, idx]);
  }
  for (const [first, lastChange] of groups) {
    const start = Math.max(0, first - CONTEXT);
    const end = Math.min(edits.length, lastChange + CONTEXT + 1);
    const before = edits.slice(0, start);
    const aStart = before.filter((e) => e[0] !== '+').length;
    const bStart = before.filter((e) => e[0] !== '-').length;
    const hunk = edits.slice(start, end);
    const aLen = hunk.filter((e) => e[0] !== '+').length;
    const bLen = hunk.filter((e) => e[0] !== '-').length;
    lines.push(`@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@`, ...hunk.map(([op, l]) => `${op}${l}`));
  }
  return `${lines.join('\n')}\n`;
}

export interface FileDiff {
  readonly path: string;
  readonly status: 'added' | 'removed' | 'changed';
  /** Unified diff of the file's text. */
  readonly diff: string;
}

/** The text diff of every file that differs between two archived versions. */
export async function diffVersions(stateDir: string, from: string, to: string): Promise<{ from: string; to: string; files: FileDiff[] }> {
  const [a, b] = await Promise.all([readVersion(stateDir, from), readVersion(stateDir, to)]);
  const before = new Map(a.files.map((f) => [f.path, f.bytes]));
  const after = new Map(b.files.map((f) => [f.path, f.bytes]));
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const files: FileDiff[] = [];
  for (const path of paths) {
    const x = before.get(path);
    const y = after.get(path);
    if (x && y && x.equals(y)) continue;
    const status = !x ? 'added' : !y ? 'removed' : 'changed';
    files.push({ path, status, diff: unifiedDiff(path, x?.toString('utf8'), y?.toString('utf8')) });
  }
  return { from, to, files };
}
