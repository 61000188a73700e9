/** What changed between two loaded bundles: files (from their manifests) and policies (by @id). */
import type { LoadedBundle } from './types.js';

export interface BundleChanges {
  readonly files: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[] };
  readonly policies: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[] };
}

function compare(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>) {
  const added = [...after.keys()].filter((k) => !before.has(k)).sort();
  const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
  const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort();
  return { added, removed, changed };
}

export function diffBundles(
  before: Pick<LoadedBundle, 'manifest' | 'policies'> | undefined,
  after: Pick<LoadedBundle, 'manifest' | 'policies'>,
): BundleChanges {
  const files = (b?: Pick<LoadedBundle, 'manifest'>) => new Map((b?.manifest ?? []).map((m) => [m.path, m.sha256]));
  const policies = (b?: Pick<LoadedBundle, 'policies'>) => new Map((b?.policies ?? []).map((p) => [p.id, p.text.trim()]));
  return { files: compare(files(before), files(after)), policies: compare(policies(before), policies(after)) };
}

/** One line per kind of change, for the activation row and the CLI. */
export function summarizeChanges(c: BundleChanges): Record<string, number | readonly string[]> {
  return {
    files_added: c.files.added.length,
    files_removed: c.files.removed.length,
    files_changed: c.files.changed.length,
    policies_added: c.policies.added,
    policies_removed: c.policies.removed,
    policies_changed: c.policies.changed,
  };
}
