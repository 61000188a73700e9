import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBundle } from './index.js';
import { QUICKSTART_BUNDLE, makeInput, writeBundle } from './bundles.test-support.js';

const DOC = join(QUICKSTART_BUNDLE, '../../../docs/policy.md');

function cedarBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```cedar\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

describe('docs/policy.md', () => {
  it('shows a schema and example policies that load and validate together', async () => {
    const [schema, examples, ...rest] = cedarBlocks(await readFile(DOC, 'utf8'));
    expect(rest).toEqual([]);
    expect(schema).toContain('namespace Custos');
    const loaded = await loadBundle(await writeBundle({ 'schema.cedarschema': schema ?? '', 'policies/examples.cedar': examples ?? '' }));
    expect(loaded.policyIds).toHaveLength(5);
    const bob = makeInput({ sub: 'bob', roles: ['billing'], dataClasses: ['phi'], toolClasses: ['read'] });
    expect(loaded.policy.decide(bob).reasons).toEqual(['phi_requires_clinician']);
  });

  it('uses the quick-start schema as its entity model', async () => {
    const [docSchema] = cedarBlocks(await readFile(DOC, 'utf8'));
    const qs = await readFile(join(QUICKSTART_BUNDLE, 'schema.cedarschema'), 'utf8');
    const attrs = (text: string) => [...text.matchAll(/(\w+): (?:Set<String>|String|Long|Bool)/g)].map((m) => m[1]).sort();
    expect(attrs(docSchema ?? '')).toEqual(attrs(qs));
  });
});
