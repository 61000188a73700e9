import type { z } from 'zod';
import type { redactionSchema } from './redaction.js';
import type { ActivePolicy, ClassificationRule } from '../kernel/index.js';

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
}

/** The parsed `catalog.yaml`. */
export interface ToolCatalog {
  /** `server/name` (with `*` globs) → classes. */
  readonly tools: Readonly<Record<string, { readonly classes: readonly string[]; readonly failOpen?: boolean }>>;
  readonly defaults: { readonly classes: readonly string[] };
  readonly classification: readonly ClassificationRule[];
  /** Where calls name tenants (the `tenancy:` section), when the bundle has one. */
  readonly tenancy?: { readonly arguments: readonly string[]; readonly paths: readonly string[] };
  /** The `redaction:` section, when the bundle has one. */
  readonly redaction?: z.infer<typeof redactionSchema>;
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
