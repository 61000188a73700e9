/**
 * Inspect completely or deny (issue 7, defect 1): every string of the arguments is looked at,
 * at any depth and under any key, and a call past the classifier's limits throws
 * ERR_INPUT_TOO_COMPLEX instead of being classified in part.
 */
import { describe, expect, it } from 'vitest';
import { CustosError } from '../kernel/index.js';
import { classifyCall } from './classify.js';
import { PATH_LIMITS, extractPaths } from './paths.js';
import { extractTenants } from './tenants.js';

const RULES = [{ dataClass: 'phi', paths: ['phi/**'] }];
const call = (args: unknown) => ({ kind: 'tool' as const, tool: { server: 'filesystem', name: 'read_multiple_files' }, arguments: args });

function nest(depth: number, leaf: unknown): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { x: v };
  return v;
}

function limitOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    if (err instanceof CustosError && err.code === 'ERR_INPUT_TOO_COMPLEX') return err.detail?.limit;
    throw err;
  }
  return undefined;
}

describe('classification sees every string', () => {
  it('classifies the patient note after 1,000 padding paths (the padding attack)', () => {
    const paths = [...Array.from({ length: 1000 }, () => 'notes/handbook.md'), 'phi/patient-0001.md'];
    expect(classifyCall(call({ paths }), RULES)).toEqual(['phi']);
    expect(classifyCall(call({ paths: Array.from({ length: 20_000 }, () => 'notes/handbook.md').concat('phi/x') }), RULES)).toEqual(['phi']);
  });

  it('classifies a path under any argument name and at any depth', () => {
    expect(classifyCall(call({ th: '/srv/workspace/phi/patient-0001.md' }), RULES)).toEqual(['phi']);
    expect(classifyCall(call(nest(200, 'phi/patient-0001.md')), RULES)).toEqual(['phi']);
    expect(classifyCall(call(nest(20_000, 'phi/patient-0001.md')), RULES)).toEqual(['phi']);
  });

  it('finds tenant keys at any depth', () => {
    const rules = { arguments: ['tenant'], paths: ['**/tenants/{tenant}/**'] };
    expect(extractTenants(call(nest(100, { tenant: 'globex' })), rules)).toEqual(['globex']);
    expect(extractTenants(call({ q: nest(40, '/ws/tenants/initech/x.md') }), rules)).toEqual(['initech']);
  });

  it('skips strings that cannot be opened as a path unless a path-like name says they are one', () => {
    const long = `phi/${'x'.repeat(PATH_LIMITS.maxPathLength)}`;
    expect(extractPaths({ content: long, text: 'line one\nphi/x' })).toEqual([]);
    expect(limitOf(() => extractPaths({ path: long }))).toBe('maxPathLength');
  });

  it('throws ERR_INPUT_TOO_COMPLEX naming the limit when its budget runs out', () => {
    const deepPath = `/${'a/'.repeat(2000)}x`;
    expect(limitOf(() => extractPaths({ paths: [deepPath, deepPath, deepPath] }))).toBe('maxSuffixWork');
    const many = Array.from({ length: PATH_LIMITS.maxValues + 1 }, () => 1);
    expect(limitOf(() => classifyCall(call({ many }), RULES))).toBe('maxValues');
  });
});
