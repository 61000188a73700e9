import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../audit/index.test-support.js';
import { archiveBundle, diffVersions, listVersions, unifiedDiff } from './archive.js';
import { copyQuickstart, writeManifest } from './bundles.test-support.js';
import { loadBundle } from './load-bundle.js';

describe('the policy archive', () => {
  it('writes a unified diff with three lines of context, one hunk per nearby change', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n'].join('\n');
    const after = ['a', 'b', 'C', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o'].join('\n');
    expect(unifiedDiff('p.cedar', before, after)).toBe(
      ['--- a/p.cedar', '+++ b/p.cedar', '@@ -1,6 +1,6 @@', ' a', ' b', '-c', '+C', ' d', ' e', ' f', '@@ -12,3 +12,4 @@', ' l', ' m', ' n', '+o', ''].join(
        '\n',
      ),
    );
    expect(unifiedDiff('new.cedar', undefined, 'x\n')).toBe('--- /dev/null\n+++ b/new.cedar\n@@ -0,0 +1,1 @@\n+x\n');
  });

  it('keeps each activated version by hash, lists them newest first, diffs any two file by file, and refuses an altered copy', async () => {
    const state = makeTempDir();
    try {
      const dir = await copyQuickstart();
      await writeManifest(dir, { name: 'quickstart', version: 1, author: 'alice' });
      const v1 = await loadBundle(dir);
      await archiveBundle(state.path, v1);
      const dir2 = await copyQuickstart();
      await writeManifest(dir2, { name: 'quickstart', version: 2, author: 'alice' });
      await writeFile(join(dir2, 'policies', 'extra.cedar'), '@id("extra")\nforbid (principal, action, resource);\n');
      const v2 = await loadBundle(dir2);
      await archiveBundle(state.path, v2);
      await archiveBundle(state.path, v2); // already there: kept as it is

      expect((await listVersions(state.path)).map((v) => [v.hash, v.version])).toEqual([
        [v2.bundleHash, 2],
        [v1.bundleHash, 1],
      ]);
      const diff = await diffVersions(state.path, v1.bundleHash, v2.bundleHash);
      expect(diff.files.map((f) => [f.path, f.status])).toEqual([
        ['bundle.yaml', 'changed'],
        ['policies/extra.cedar', 'added'],
      ]);
      expect(diff.files[0]!.diff).toContain('-version: 1\n+version: 2');
      expect(diff.files[1]!.diff).toContain('+forbid (principal, action, resource);');

      await writeFile(join(state.path, 'bundles', v1.bundleHash, 'bundle.yaml'), 'name: forged\nversion: 1\n');
      await expect(diffVersions(state.path, v1.bundleHash, v2.bundleHash)).rejects.toMatchObject({ code: 'ERR_POLICY_BUNDLE_INVALID' });
      expect((await listVersions(state.path)).map((v) => v.hash)).toEqual([v2.bundleHash]);
      await expect(diffVersions(state.path, 'nope', v2.bundleHash)).rejects.toMatchObject({ code: 'ERR_GATEWAY_BAD_REQUEST' });
      await expect(diffVersions(state.path, 'f'.repeat(64), v2.bundleHash)).rejects.toMatchObject({ code: 'ERR_GATEWAY_NOT_FOUND' });
      await archiveBundle(state.path, v1); // an altered copy is replaced by the verified bundle
      expect((await listVersions(state.path)).length).toBe(2);
    } finally {
      state.remove();
    }
  });
});
