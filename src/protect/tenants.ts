/**
 * Which tenants a call names: values of the bundle's tenant argument keys (at any depth of
 * the arguments), and the `{tenant}` segment of path globs such as `** /tenants/{tenant}/**`
 * matched against every string that can name a path (see extractPaths). The pipeline denies a call naming any tenant
 * other than the principal's (`tenant_mismatch`).
 */
import { CustosError } from '../kernel/index.js';
import type { TenancyRules, ToolCall } from '../kernel/index.js';
import { matchGlob } from './glob.js';
import { remembered } from './memo.js';
import { extractPaths } from './paths.js';

export const TENANT_SEGMENT = '{tenant}';
/** Most values walked looking for tenant keys (the door's limits are far below it). */
const MAX_VALUES = 2_000_000;

/** Values of the tenant keys at any depth (a string, or an array of strings). Iterative. */
function collectKeyed(value: unknown, keys: ReadonlySet<string>, out: Set<string>): void {
  const stack: unknown[] = [value];
  let seen = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (++seen > MAX_VALUES) {
      throw new CustosError('ERR_INPUT_TOO_COMPLEX', "The arguments exceed the tenant walk's maxValues limit.", {
        detail: { limit: 'maxValues', max: MAX_VALUES },
      });
    }
    if (v === null || typeof v !== 'object') continue;
    for (const [k, child] of Object.entries(v)) {
      if (keys.has(k)) {
        for (const t of Array.isArray(child) ? child : [child]) if (typeof t === 'string' && t !== '') out.add(t);
      }
      stack.push(child);
    }
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

/** For each path glob of one bundle's rules, `tenantOfPath` worked out once per path. */
const byRules = new WeakMap<TenancyRules, ReadonlyArray<(path: string) => string | undefined>>();

function tenantFinders(rules: TenancyRules): ReadonlyArray<(path: string) => string | undefined> {
  let finders = byRules.get(rules);
  if (!finders) {
    finders = rules.paths.map((glob) => remembered((path) => tenantOfPath(glob, path)));
    byRules.set(rules, finders);
  }
  return finders;
}

/** Sorted, unique tenants the call names under the rules. */
export function extractTenants(call: Pick<ToolCall, 'tool' | 'arguments' | 'kind'>, rules: TenancyRules): string[] {
  const out = new Set<string>();
  if (rules.arguments.length > 0) collectKeyed(call.arguments, new Set(rules.arguments), out);
  if (rules.paths.length > 0) {
    for (const path of extractPaths(call.arguments)) {
      for (const tenantOf of tenantFinders(rules)) {
        const tenant = tenantOf(path);
        if (tenant !== undefined) out.add(tenant);
      }
    }
  }
  return [...out].sort();
}
