/** The policy module: bundle load and hash, Cedar evaluation, tool catalog. */
export { loadBundle } from './load-bundle.js';
export { computeBundleHash } from './bundle-hash.js';
export { createPolicySource } from './policy-source.js';
export type { SwappablePolicySource } from './policy-source.js';
export type { BundleDigest, LoadedBundle, ManifestEntry, ToolCatalog } from './types.js';
