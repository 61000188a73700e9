import { describe, expect, it } from 'vitest';
import { createMemoryAudit } from '../audit/index.test-support.js';
import { canonicalize } from './canonical.js';
import { digestJson, sha256Hex } from './digest.js';
import { CustosError } from './errors.js';
import { DEFAULT_INPUT_LIMITS, findLimitExceeded } from './limits.js';
import { WITHHELD, createPipeline } from './pipeline.js';
import type { ActivePolicy, Protector } from './ports.js';
import type { ToolCall } from './types.js';

function nest(depth: number, leaf: unknown = 'x'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

describe('findLimitExceeded', () => {
  const small = { ...DEFAULT_INPUT_LIMITS, maxDepth: 4, maxObjectKeys: 3, maxArrayItems: 3, maxValues: 20, maxStringLength: 10, maxTotalSize: 100 };
  it.each([
    ['depth', nest(5), 'maxDepth'],
    ['keys', { a: 1, b: 2, c: 3, d: 4 }, 'maxObjectKeys'],
    ['items', [1, 2, 3, 4], 'maxArrayItems'],
    [
      'values',
      [
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
      ],
      'maxArrayItems',
    ],
    ['string', { a: 'x'.repeat(11) }, 'maxStringLength'],
    ['key length', { ['k'.repeat(11)]: 1 }, 'maxStringLength'],
  ])('names the %s limit', (_name, value, limit) => {
    expect(findLimitExceeded(value, small)).toEqual({ limit, max: small[limit as keyof typeof small] });
  });

  it('counts values and size across the whole value', () => {
    expect(
      findLimitExceeded(
        [
          [1, 2],
          [1, 2],
          [1, 2],
          [1, 2],
          [1, 2],
          [1, 2],
          [1, 2],
        ].slice(0, 3),
        small,
      ),
    ).toBeUndefined();
    expect(
      findLimitExceeded(
        {
          a: [
            [1, 2, 3],
            [1, 2, 3],
            [1, 2, 3],
          ],
          b: [
            [1, 2, 3],
            [1, 2, 3],
          ],
        },
        { ...small, maxTotalSize: 10_000 },
      ),
    ).toEqual({ limit: 'maxValues', max: 20 });
    expect(
      findLimitExceeded({ a: 'x'.repeat(10), b: 'x'.repeat(10), c: ['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(10)] }, { ...small, maxTotalSize: 50 }),
    ).toEqual({ limit: 'maxTotalSize', max: 50 });
  });

  it('accepts depth 64 and refuses 65 by default, and walks 100 000 levels without recursion', () => {
    expect(findLimitExceeded(nest(64))).toBeUndefined();
    expect(findLimitExceeded(nest(65))).toEqual({ limit: 'maxDepth', max: 64 });
    expect(findLimitExceeded(nest(100_000))).toEqual({ limit: 'maxDepth', max: 64 });
  });
});

describe('canonical form and digests of deep and wide values', () => {
  it('canonicalizes 100 000 levels deep without recursion, and digests it streamed', () => {
    const deep = nest(100_000);
    const text = canonicalize(deep);
    expect(text.length).toBeGreaterThan(300_000);
    expect(canonicalize(JSON.parse(text))).toBe(text);
    expect(digestJson(deep)).toBe(sha256Hex(text));
  });

  it('property (seeded): canonical form is stable under re-parsing and key order, for deep and wide values', () => {
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const scalar = (): unknown =>
      [rand() * 1e6 - 5e5, Math.floor(rand() * 1e9), `s\u00e9\u{1f600}${Math.floor(rand() * 100)}`, true, false, null, -0, 1e-7, 1e21][Math.floor(rand() * 9)];
    const gen = (budget: number): unknown => {
      const r = rand();
      if (budget <= 0 || r < 0.2) return scalar();
      if (r < 0.3) return nest(Math.floor(rand() * 6000), scalar()); // a deep chain
      if (r < 0.65) return Array.from({ length: Math.floor(rand() * 12) }, () => gen(budget - 1));
      const entries = Array.from({ length: Math.floor(rand() * 12) }, () => [
        String.fromCharCode(32 + Math.floor(rand() * 2000)) + String(Math.floor(rand() * 9)),
        gen(budget - 1),
      ]);
      return Object.fromEntries(entries);
    };
    for (let i = 0; i < 40; i++) {
      const v = gen(3);
      const c = canonicalize(v);
      expect(canonicalize(JSON.parse(c))).toBe(c);
      expect(digestJson(v)).toBe(sha256Hex(c));
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const reversed = Object.fromEntries(Object.entries(v).reverse());
        expect(canonicalize(reversed)).toBe(c);
      }
    }
  });
});

describe('pipeline bounds', () => {
  function setup() {
    const audit = createMemoryAudit(); // chains and canonicalizes every row, as a real store does
    const rows = audit.rows;
    let classified = 0;
    const protector: Protector = {
      classify: () => {
        classified += 1;
        return [];
      },
      redact: <T>(value: T) => ({ value, count: 0, types: [] }),
    };
    const policy: ActivePolicy = {
      bundleHash: 'b'.repeat(64),
      decide: () => ({ decision: 'allow', reasons: [], bundleHash: 'b'.repeat(64), determiningPolicies: ['p'] }),
      classifyTool: () => ({ classes: [] }),
      classificationRules: [],
    };
    const pipeline = createPipeline({ policy: { current: () => policy }, protector, audit, clock: { now: () => new Date(0) }, ids: { newId: () => 'id' } });
    return { rows, audit, pipeline, classified: () => classified };
  }
  const call = (args: unknown): ToolCall => ({
    requestId: 'r1',
    kind: 'tool',
    tool: { server: 'fs', name: 'read' },
    arguments: args,
    principal: { sub: 'bob', iss: 'https://idp', roles: [], groups: [] },
    agent: { name: 'a', tier: 'interactive', delegationChain: ['user:bob'] },
  });

  it('denies arguments past a limit with one row that names it and stores nothing of them', async () => {
    const { rows, pipeline, classified } = setup();
    const args = { a: nest(6000) };
    const auth = await pipeline.authorize(call(args));
    expect(auth.decision).toMatchObject({ decision: 'deny', reasons: ['arguments_too_complex'] });
    expect(auth.exceeded).toEqual({ limit: 'maxDepth', max: 64 });
    expect(classified()).toBe(0);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'deny', input: { redacted: WITHHELD.value, sha256: digestJson(args) }, detail: { limit: 'maxDepth', max: 64 } });
  });

  it('denies a call whose classifier runs out of budget, naming the limit', async () => {
    const { rows, audit, pipeline } = setup();
    const protector: Protector = {
      classify: () => {
        throw new CustosError('ERR_INPUT_TOO_COMPLEX', undefined, { detail: { limit: 'maxSuffixWork', max: 5 } });
      },
      redact: <T>(value: T) => ({ value, count: 0, types: [] }),
    };
    const p = createPipeline({
      policy: {
        current: () => ({
          bundleHash: 'b',
          decide: () => ({ decision: 'allow', reasons: [], bundleHash: 'b', determiningPolicies: [] }),
          classifyTool: () => ({ classes: [] }),
          classificationRules: [],
        }),
      },
      protector,
      audit,
      clock: { now: () => new Date(0) },
      ids: { newId: () => 'id' },
    });
    void pipeline;
    const auth = await p.authorize(call({ path: 'x' }));
    expect(auth.decision.reasons).toEqual(['arguments_too_complex']);
    expect(rows[0]?.detail).toEqual({ limit: 'maxSuffixWork', max: 5 });
  });

  it('withholds an output past a limit: one result row, output_too_complex, nothing of it stored', async () => {
    const { rows, pipeline } = setup();
    const auth = await pipeline.authorize(call({ path: 'x' }));
    const output = { content: [{ type: 'text', text: 'ok' }], structuredContent: nest(5000) };
    const completion = await pipeline.complete(auth, { output });
    expect(completion.withheld).toEqual({ limit: 'maxDepth', max: 64 });
    expect(completion.output.value).toBe(WITHHELD.value);
    expect(rows.map((r) => r.event)).toEqual(['intent', 'result']);
    expect(rows[1]?.output).toEqual({ redacted: WITHHELD.value, sha256: digestJson(output), error: 'output_too_complex' });
    const run = await pipeline.run(call({ path: 'y' }), async () => output);
    expect(run).toMatchObject({ forwarded: true, failed: true });
  });
});
