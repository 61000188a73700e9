/**
 * The bundle manifest, `bundle.yaml`: the bundle's name, its monotonic version, its mode
 * (`enforce` or `shadow`), its author (the approver id whose signature is the author's),
 * whether it is an emergency change, and its rate limits. Inside the hashed files, so the
 * hash and every approval cover it. A bundle without one is version 0, `enforce`, no author.
 * Format: docs/policy-bundles.md.
 */
import { z } from 'zod';
import type { BundleInfo, RateLimitRule } from '../kernel/index.js';
import { parseYamlFile } from './yaml-check.js';

export const MANIFEST_FILE = 'bundle.yaml';

const ID = z.string().regex(/^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/, 'must be lower-case letters, digits and - _ .');
const TOOL_GLOB = z.string().regex(/^[^/*\s]+\/[^/\s]+$/, 'must be "server/name" (`*` allowed in the name)');
const COUNT = z.number().int().min(1).max(1_000_000_000);

const rateLimitSchema = z
  .strictObject({
    id: ID,
    per: z
      .array(z.enum(['user', 'tenant', 'tool']))
      .min(1)
      .default(['user']),
    tools: z.array(TOOL_GLOB).min(1).optional(),
    classes: z
      .array(z.string().regex(/^[a-z][a-z0-9_]*$/))
      .min(1)
      .optional(),
    tiers: z
      .array(z.enum(['interactive', 'subagent', 'background', 'api']))
      .min(1)
      .optional(),
    perMinute: COUNT.optional(),
    perDay: COUNT.optional(),
  })
  .refine((r) => r.perMinute !== undefined || r.perDay !== undefined, 'needs perMinute or perDay');

const manifestSchema = z
  .strictObject({
    name: ID,
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    mode: z.enum(['enforce', 'shadow']).default('enforce'),
    author: ID.optional(),
    emergency: z.boolean().default(false),
    description: z.string().max(4096).optional(),
    rateLimits: z.array(rateLimitSchema).default([]),
  })
  .refine((m) => new Set(m.rateLimits.map((r) => r.id)).size === m.rateLimits.length, { message: 'rate limit ids must be unique', path: ['rateLimits'] });

export interface BundleManifest extends BundleInfo {
  readonly author?: string;
  readonly description?: string;
  readonly rateLimits: readonly RateLimitRule[];
}

/** What a bundle without `bundle.yaml` is. */
export const DEFAULT_MANIFEST: BundleManifest = Object.freeze({
  name: 'unnamed',
  version: 0,
  mode: 'enforce',
  emergency: false,
  rateLimits: Object.freeze([]),
});

export function parseManifest(text: string, file = MANIFEST_FILE): { readonly manifest: BundleManifest | null; readonly problems: readonly string[] } {
  const { value, problems } = parseYamlFile(text, file, manifestSchema);
  if (!value) return { manifest: null, problems };
  return {
    manifest: Object.freeze({
      ...value,
      rateLimits: Object.freeze(value.rateLimits.map((r) => Object.freeze({ ...r }))),
    }),
    problems: [],
  };
}
