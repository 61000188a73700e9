/**
 * The `tenancy:` section of catalog.yaml: where a call names a tenant.
 *
 *   tenancy:
 *     arguments: [tenant, tenant_id]          # argument keys whose values are tenant ids
 *     paths: ["** /tenants/{tenant}/**"]      # path globs with exactly one `{tenant}` segment (no space)
 *
 * A call naming a tenant other than the caller's is denied by the pipeline (`tenant_mismatch`).
 */
import { z } from 'zod';
import type { TenancyRules } from '../kernel/index.js';

const tenantGlob = z
  .string()
  .min(1)
  .refine((g) => g.split('/').filter((s) => s === '{tenant}').length === 1, 'must have exactly one `{tenant}` path segment');

export const tenancySchema = z.strictObject({
  arguments: z.array(z.string().min(1)).default([]),
  paths: z.array(tenantGlob).default([]),
});

/** The rules the pipeline uses, frozen; undefined when the bundle has no tenancy section. */
export function toTenancyRules(section: { readonly arguments: readonly string[]; readonly paths: readonly string[] } | undefined): TenancyRules | undefined {
  if (!section) return undefined;
  return Object.freeze({ arguments: Object.freeze([...section.arguments]), paths: Object.freeze([...section.paths]) });
}
