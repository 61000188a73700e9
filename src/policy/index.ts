/** The policy module: bundle load and hash, manifest, approvals, live activation, Cedar evaluation, tool catalog. */
export { loadBundle } from './load-bundle.js';
export { computeBundleHash } from './bundle-hash.js';
export { createPolicySource } from './policy-source.js';
export type { SwappablePolicySource } from './policy-source.js';
export type { BundleDigest, LoadedBundle, ManifestEntry, ToolCatalog, ToolEntry } from './types.js';
export { MANIFEST_FILE } from './manifest.js';
export type { BundleManifest } from './manifest.js';
export { APPROVALS_DIR, checkApprovals, readApprovals, signBundleHash, verifySignatures, writeApproval } from './approvals.js';
export type { Approver, ApprovalSettings, ApprovalVerdict } from './approvals.js';
export { chooseStartBundle, createActivator, keepLastGood, lastGoodDir, recordStart, verifyCandidate } from './activation.js';
export type { ActivationDeps, ActivationRecorder, ActivationSettings, Activator, Offer, OfferContext } from './activation.js';
export { diffBundles, summarizeChanges } from './bundle-diff.js';
export type { BundleChanges } from './bundle-diff.js';
export { fetchGitBundle, followGit, watchDirectory } from './follow.js';
export type { Follower, GitSource } from './follow.js';
export { createPostgresPolicyNotifier } from './notify-postgres.js';
export type { PolicyNotifier } from './notify-postgres.js';
