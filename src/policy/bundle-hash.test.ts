import { execSync } from 'node:child_process';
import { appendFile, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../kernel/index.js';
import { computeBundleHash, loadBundle } from './index.js';
import { QUICKSTART_BUNDLE, copyQuickstart, writeBundle } from './bundles.test-support.js';

const AUDITOR_PIPELINE = "find . -type f ! -path '*/.*' | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum";

function shellHash(dir: string): string {
  const out = execSync(AUDITOR_PIPELINE, { cwd: dir, encoding: 'utf8', shell: '/bin/sh' });
  return out.split(/\s+/)[0] ?? '';
}

describe('bundle hash', () => {
  it('equals the documented sha256sum pipeline on the quick-start bundle', async () => {
    const loaded = await loadBundle(QUICKSTART_BUNDLE);
    expect(loaded.bundleHash).toBe(shellHash(QUICKSTART_BUNDLE));
  });

  it('documents the same pipeline the test runs', async () => {
    const doc = await readFile(join(QUICKSTART_BUNDLE, '../../../docs/policy.md'), 'utf8');
    expect(doc).toContain(AUDITOR_PIPELINE);
  });

  it('equals the pipeline with nested dirs, bytewise order and ignored dot files', async () => {
    const dir = await writeBundle({
      'policies/a.cedar': '@id("a")\npermit (principal, action, resource);\n',
      'policies/B.cedar': '@id("b")\nforbid (principal, action, resource) when { false };\n',
      'extra/deep/Z_notes.md': 'z',
      'extra/a-b.txt': 'dash',
      'extra/a_b.txt': 'underscore',
      '.signatures/sig.json': '{}',
      'policies/.hidden.cedar': 'not part of the bundle',
    });
    const digest = await computeBundleHash(dir);
    expect(digest.bundleHash).toBe(shellHash(dir));
    expect(digest.manifest.map((m) => m.path)).toEqual([
      'catalog.yaml',
      'extra/a-b.txt',
      'extra/a_b.txt',
      'extra/deep/Z_notes.md',
      'policies/B.cedar',
      'policies/a.cedar',
      'schema.cedarschema',
    ]);
    expect(digest.bundleHash).toBe(sha256Hex(digest.manifestText));
    expect(digest.manifestText.split('\n')[0]).toMatch(/^[0-9a-f]{64} {2}catalog\.yaml$/);
    const loaded = await loadBundle(dir);
    expect(loaded.bundleHash).toBe(digest.bundleHash);
    expect(loaded.manifest).toEqual(digest.manifest);
  });

  it('changes when any byte of any file changes, and not for dot files', async () => {
    const dir = await copyQuickstart();
    const base = (await computeBundleHash(dir)).bundleHash;
    const seen = new Set([base]);
    for (const { path } of (await computeBundleHash(dir)).manifest) {
      const original = await readFile(join(dir, path));
      const changed = Buffer.from(original);
      changed[changed.length - 1] = (changed[changed.length - 1] ?? 0) ^ 1;
      await writeFile(join(dir, path), changed);
      const hash = (await computeBundleHash(dir)).bundleHash;
      expect(seen.has(hash), path).toBe(false);
      seen.add(hash);
      await writeFile(join(dir, path), original);
    }
    expect((await computeBundleHash(dir)).bundleHash).toBe(base);
    await mkdir(join(dir, '.signatures'));
    await writeFile(join(dir, '.signatures', 'alice.sig'), 'sig');
    expect((await computeBundleHash(dir)).bundleHash).toBe(base);
    await appendFile(join(dir, 'README.md'), '\n');
    expect((await computeBundleHash(dir)).bundleHash).not.toBe(base);
  });

  it('changes when a file is added or renamed', async () => {
    const dir = await copyQuickstart();
    const base = (await computeBundleHash(dir)).bundleHash;
    await writeFile(join(dir, 'NOTES.md'), '');
    const added = (await computeBundleHash(dir)).bundleHash;
    expect(added).not.toBe(base);
    await rename(join(dir, 'NOTES.md'), join(dir, 'NOTES2.md'));
    const renamed = (await computeBundleHash(dir)).bundleHash;
    expect(renamed).not.toBe(base);
    expect(renamed).not.toBe(added);
  });

  it('skips symlinks as find -type f does', async () => {
    const dir = await copyQuickstart();
    const base = (await computeBundleHash(dir)).bundleHash;
    await symlink(join(dir, 'README.md'), join(dir, 'LINK.md'));
    expect((await computeBundleHash(dir)).bundleHash).toBe(base);
    expect(shellHash(dir)).toBe(base);
  });

  it('refuses file names the pipeline would not hash verbatim', async () => {
    const dir = await writeBundle({ 'notes/with space.md': 'x', '-rf': 'x' });
    const err = await computeBundleHash(dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_POLICY_BUNDLE_INVALID' });
    const problems = (err as { detail: { problems: string[] } }).detail.problems;
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toContain('notes/with space.md');
  });

  it('refuses a missing directory', async () => {
    await expect(computeBundleHash('/nonexistent/custos-bundle')).rejects.toMatchObject({
      code: 'ERR_POLICY_BUNDLE_INVALID',
    });
  });
});
