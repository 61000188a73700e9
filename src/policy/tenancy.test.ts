import { describe, expect, it } from 'vitest';
import { parseCatalog } from './catalog.js';
import { toTenancyRules } from './tenancy.js';

describe('catalog tenancy section', () => {
  it('parses argument keys and {tenant} path globs', () => {
    const { catalog, problems } = parseCatalog('tenancy:\n  arguments: [tenant]\n  paths: ["**/tenants/{tenant}/**"]\n');
    expect(problems).toEqual([]);
    expect(toTenancyRules(catalog?.tenancy)).toEqual({ arguments: ['tenant'], paths: ['**/tenants/{tenant}/**'] });
  });

  it('is optional', () => {
    expect(toTenancyRules(parseCatalog('tools: {}\n').catalog?.tenancy)).toBeUndefined();
  });

  it('refuses a path glob without exactly one {tenant} segment, and unknown keys', () => {
    expect(parseCatalog('tenancy:\n  paths: ["**/tenants/**"]\n').problems.join('\n')).toContain('{tenant}');
    expect(parseCatalog('tenancy:\n  paths: ["{tenant}/{tenant}"]\n').problems).toHaveLength(1);
    expect(parseCatalog('tenancy:\n  columns: [x]\n').problems.join('\n')).toContain('tenancy');
  });
});
