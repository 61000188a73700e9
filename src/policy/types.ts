import type { z } from 'zod';
import type { egressSchema } from './egress.js';
import type { redactionSchema } from './redaction.js';
import type { ActivePolicy, BeforeStateSpec, ClassificationRule } from '../kernel/index.js';
import type { BundleManifest } from './manifest.js';
import type { BundleTestCase } from './bundle-tests.js';

/** One file of a bundle manifest: its POSIX path relative to the bundle dir and its SHA-256. */
export interface ManifestEntry {
  readonly path: string;
  readonly sha256: string;
}

/** The bundle hash and the `sha256sum`-format manifest it is the hash of. */
export interface BundleDigest {
  readonly bundleHash: string;
  readonly manifest: readonly ManifestEntry[];
  /** Exactly what `sha256sum` prints for the manifest files: `<hex>  <path>\n` per file. */
  readonly manifestText: string;
}

/** A bundle read from disk, hashed, parsed and validated. */
export interface LoadedBundle {
  readonly dir: string;
  readonly bundleHash: string;
  readonly manifest: readonly ManifestEntry[];
  readonly policy: ActivePolicy;
  /** The `@id` of every policy, sorted. */
  readonly policyIds: readonly string[];
  /** Every policy with its text (for diffs). */
  readonly policies: readonly BundlePolicy[];
  /** `bundle.yaml` (or the defaults when the bundle has none). */
  readonly info: BundleManifest;
  readonly catalog: ToolCatalog;
  /** The cases of `tests/*.yaml`. */
  readonly tests: readonly BundleTestCase[];
}

/** One `tools:` entry of `catalog.yaml` (docs/policy-bundles.md). */
export interface ToolEntry {
  readonly classes: readonly string[];
  /** OAuth scopes the call needs (required ⊆ user scopes ∩ delegated scopes). */
  readonly scopes?: readonly string[];
  /** The SDK may run the tool while the control plane is unreachable, journaled locally first (default false). */
  readonly failOpen?: boolean;
  /** Argument names that hold file paths. */
  readonly paths?: readonly string[];
  /** Argument names (at any depth) that hold URLs the call sends data to. */
  readonly urls?: readonly string[];
  /** Argument names (at any depth) that hold hosts the call sends data to. */
  readonly hosts?: readonly string[];
  /** How to read a write's target before it runs: a tool (`server/name`), its arguments (name ← the write's argument), and the data classes it applies to. */
  readonly before?: BeforeStateSpec;
}

/** The parsed `catalog.yaml`. */
export interface ToolCatalog {
  /** `server/name` (with `*` globs) → classes. */
  readonly tools: Readonly<Record<string, ToolEntry>>;
  readonly defaults: { readonly classes: readonly string[] };
  readonly classification: readonly ClassificationRule[];
  /** Where calls name tenants (the `tenancy:` section), when the bundle has one. */
  readonly tenancy?: { readonly arguments: readonly string[]; readonly paths: readonly string[] };
  /** The `redaction:` section, when the bundle has one. */
  readonly redaction?: z.infer<typeof redactionSchema>;
  /** The `egress:` section (the allow-list), when the bundle has one. */
  readonly egress?: z.infer<typeof egressSchema>;
}

/** One policy of a bundle, keyed by its `@id`. */
export interface BundlePolicy {
  readonly id: string;
  /** Bundle-relative path of the file the policy came from. */
  readonly file: string;
  /** Where the policy text starts in its file (characters). */
  readonly offset: number;
  readonly text: string;
  /** The `@reason` annotation, else the id. */
  readonly reason: string;
  /** True when the policy carries `@confirm("true")`. */
  readonly confirm: boolean;
}
