/**
 * Which tenants a call names: values of the bundle's tenant argument keys (anywhere in the
 * arguments), and the `{tenant}` segment of path globs such as `** /tenants/{tenant}/**`
 * matched against every path-like argument. The pipeline denies a call naming any tenant
 * other than the principal's (`tenant_mismatch`).
 */
import type { TenancyRules, ToolCall } from '../kernel/index.js';
import { matchGlob } from './glob.js';
import { extractPaths, normalisePath } from './paths.js';

export const TENANT_SEGMENT = '{tenant}';
const MAX_DEPTH = 32;

function collectKeyed(value: unknown, keys: ReadonlySet<string>, depth: number, out: Set<string>): void {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (keys.has(k)) {
      for (const t of Array.isArray(v) ? v : [v]) if (typeof t === 'string' && t !== '') out.add(t);
    }
    collectKeyed(v, keys, depth + 1, out);
  }
}

/** The tenant a path names under one `{tenant}` glob, if it matches. */
export function tenantOfPath(glob: string, path: string): string | undefined {
  const parts = glob.split('/');
  const at = parts.indexOf(TENANT_SEGMENT);
  if (at < 0) return undefined;
  const prefix = parts.slice(0, at).join('/');
  const suffix = parts.slice(at + 1).join('/');
  const segs = path.split('/');
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (!seg) continue;
    const before = segs.slice(0, i).join('/');
    const after = segs.slice(i + 1).join('/');
    const prefixOk = prefix === '' ? i === 0 : matchGlob(prefix, before === '' ? '/' : before);
    const suffixOk = suffix === '' ? after === '' : matchGlob(suffix, after);
    if (prefixOk && suffixOk) return seg;
  }
  return undefined;
}

/** Sorted, unique tenants the call names under the rules. */
export function extractTenants(call: Pick<ToolCall, 'tool' | 'arguments' | 'kind'>, rules: TenancyRules): string[] {
  const out = new Set<string>();
  if (rules.arguments.length > 0) collectKeyed(call.arguments, new Set(rules.arguments), 0, out);
  if (rules.paths.length > 0) {
    for (const raw of extractPaths(call.arguments)) {
      const path = normalisePath(raw);
      for (const glob of rules.paths) {
        const tenant = tenantOfPath(glob, path);
        if (tenant !== undefined) out.add(tenant);
      }
    }
  }
  return [...out].sort();
}
