import { describe, expect, it } from 'vitest';
import { extractTenants, tenantOfPath } from './tenants.js';

const RULES = { arguments: ['tenant', 'tenant_id'], paths: ['**/tenants/{tenant}/**', 'file:///never/{tenant}'] };
const call = (args: unknown) => ({ kind: 'tool' as const, tool: { server: 'filesystem', name: 'read_text_file' }, arguments: args });

describe('tenant extraction', () => {
  it('reads the {tenant} segment of matching paths', () => {
    expect(tenantOfPath('**/tenants/{tenant}/**', '/srv/ws/tenants/acme/phi/a.md')).toBe('acme');
    expect(tenantOfPath('**/tenants/{tenant}/**', '/srv/ws/tenants/acme')).toBe('acme');
    expect(tenantOfPath('/data/{tenant}/*.csv', '/data/acme/x.csv')).toBe('acme');
    expect(tenantOfPath('/data/{tenant}/*.csv', '/data/acme/sub/x.csv')).toBeUndefined();
    expect(tenantOfPath('**/tenants/{tenant}/**', '/srv/ws/notes/a.md')).toBeUndefined();
    expect(tenantOfPath('no-placeholder/**', '/x')).toBeUndefined();
  });

  it('finds tenants in arguments (nested, arrays) and in paths, after normalisation', () => {
    expect(extractTenants(call({ tenant: 'acme', nested: { tenant_id: ['globex', 7] } }), RULES)).toEqual(['acme', 'globex']);
    expect(extractTenants(call({ path: '/ws/tenants/acme/../globex/phi/x.md' }), RULES)).toEqual(['globex']);
    expect(extractTenants(call({ paths: ['/ws/tenants/a/x', '/ws/tenants/b/y'] }), RULES)).toEqual(['a', 'b']);
    expect(extractTenants(call({ uri: 'file:///ws/tenants/acme/x.md' }), RULES)).toEqual(['acme']);
  });

  it('names nothing when the call does not touch a tenant or the rules are empty', () => {
    expect(extractTenants(call({ path: '/ws/notes/handbook.md', note: 'tenant acme' }), RULES)).toEqual([]);
    expect(extractTenants(call({ tenant: 'acme', path: '/ws/tenants/acme/x' }), { arguments: [], paths: [] })).toEqual([]);
  });

  it('stays linear on hostile input', () => {
    const deep = `/${'a/'.repeat(2000)}tenants/acme/x`;
    const cpu = process.cpuUsage(); // CPU time of this test process (pool: forks): the machine's load distorts it far less than wall time
    expect(extractTenants(call({ path: deep }), RULES)).toEqual(['acme']);
    const used = process.cpuUsage(cpu);
    expect((used.user + used.system) / 1000).toBeLessThan(2000);
  });
});
