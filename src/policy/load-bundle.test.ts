import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../kernel/index.js';
import { loadBundle } from './index.js';
import { makeInput, writeBundle } from './bundles.test-support.js';

const OK_POLICY = '@id("ok")\npermit (principal, action, resource) when { resource.classes.contains("read") };\n';

async function problemsOf(dir: string): Promise<string[]> {
  const err = await loadBundle(dir).then(
    () => null,
    (e: unknown) => e,
  );
  if (!isCustosError(err)) throw new Error('expected a CustosError');
  expect(err.code).toBe('ERR_POLICY_BUNDLE_INVALID');
  const problems = err.detail?.['problems'];
  if (!Array.isArray(problems)) throw new Error('expected detail.problems');
  return problems as string[];
}

describe('loadBundle', () => {
  it('loads a minimal valid bundle', async () => {
    const loaded = await loadBundle(await writeBundle({ 'policies/ok.cedar': OK_POLICY }));
    expect(loaded.policyIds).toEqual(['ok']);
    expect(loaded.policy.bundleHash).toBe(loaded.bundleHash);
    const d = loaded.policy.decide(makeInput({ server: 'demo', tool: 'read' }));
    expect(d).toEqual({ decision: 'allow', reasons: ['ok'], bundleHash: loaded.bundleHash, determiningPolicies: ['ok'] });
  });

  it('lists every problem of a broken bundle at once, with file names', async () => {
    const dir = await writeBundle({
      'policies/ok.cedar': OK_POLICY,
      'policies/syntax.cedar': '@id("syntax")\npermit (principal, action, resource) when { principal. };\n',
      'policies/schema.cedar': '@id("bad-attr")\npermit (principal, action, resource) when { principal.department == "x" };\n',
      'policies/no-id.cedar': 'permit (principal, action, resource);\n',
      'policies/dup.cedar': '@id("ok")\nforbid (principal, action, resource);\n',
      'catalog.yaml': 'tools:\n  demo/read: { classes: [read], colour: red }\nsurprise: 1\n',
    });
    const problems = await problemsOf(dir);
    const text = problems.join('\n');
    expect(text).toMatch(/policies\/syntax\.cedar:2:\d+: /);
    expect(text).toMatch(/policies\/schema\.cedar:2:\d+: policy "bad-attr": .*department/);
    expect(text).toContain('policies/no-id.cedar: policy #1 has no @id');
    // Files are read in bytewise order: dup.cedar comes before ok.cedar.
    expect(text).toContain('policies/ok.cedar: duplicate @id("ok") (first in policies/dup.cedar)');
    expect(text).toMatch(/catalog\.yaml:\d+:\d+: tools\.demo\/read: .*colour/);
    expect(text).toMatch(/catalog\.yaml:1:1: \(top level\): .*surprise/);
    expect(problems).toHaveLength(6);
  });

  it('reports missing files together', async () => {
    const dir = await writeBundle({ 'policies/notes.txt': 'not a policy file' });
    await rm(join(dir, 'schema.cedarschema'));
    await rm(join(dir, 'catalog.yaml'));
    const problems = await problemsOf(dir);
    expect(problems).toEqual(['schema.cedarschema: missing', 'catalog.yaml: missing', 'policies/*.cedar: no policy files']);
  });

  it('reports YAML syntax errors and wrong catalog types', async () => {
    const yamlErr = await problemsOf(await writeBundle({ 'policies/ok.cedar': OK_POLICY, 'catalog.yaml': 'tools: [\n' }));
    expect(yamlErr).toHaveLength(1);
    expect(yamlErr[0]).toMatch(/^catalog\.yaml:2:1: YAML error: /);
    const typeErr = await problemsOf(
      await writeBundle({
        'policies/ok.cedar': OK_POLICY,
        'catalog.yaml': 'tools:\n  no-slash: { classes: [read] }\nclassification:\n  - dataClass: phi\n    paths: []\n',
      }),
    );
    expect(typeErr.join('\n')).toContain('server/name');
    expect(typeErr.join('\n')).toMatch(/classification\.0\.paths/);
  });

  it('refuses a schema that does not parse, and one declaring attributes Custos does not supply', async () => {
    const broken = await problemsOf(await writeBundle({ 'policies/ok.cedar': OK_POLICY, 'schema.cedarschema': 'namespace Custos {' }));
    expect(broken[0]).toMatch(/^schema\.cedarschema:1:\d+: /);
    const extra = await problemsOf(
      await writeBundle({
        'policies/ok.cedar': OK_POLICY,
        'schema.cedarschema': MIN_SCHEMA_WITH_DEPARTMENT,
      }),
    );
    expect(extra).toEqual([expect.stringContaining('User.department is not an attribute Custos supplies')]);
  });

  it('reports templates, bad @confirm values and unsafe ids', async () => {
    const problems = await problemsOf(
      await writeBundle({
        'policies/p.cedar':
          '@id("t")\npermit (principal == ?principal, action, resource);\n' +
          '@id("c")\n@confirm("yes")\npermit (principal, action, resource);\n' +
          '@id("has space")\npermit (principal, action, resource);\n',
      }),
    );
    const text = problems.join('\n');
    expect(text).toContain('templates are not supported');
    expect(text).toContain('@confirm on "c" must be "true" or "false"');
    expect(text).toContain('@id("has space") must match');
  });
});

const MIN_SCHEMA_WITH_DEPARTMENT = `namespace Custos {
  entity User = { roles: Set<String>, groups: Set<String>, tenant: String, iss: String, department: String };
  entity Tool = { server: String, name: String, classes: Set<String> };
  action call_tool appliesTo { principal: User, resource: Tool };
}
`;
