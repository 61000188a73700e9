import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalText, canonicalize, sortedKeys, writeCanonical } from './canonical.js';
import { digestJson, sha256Hex } from './digest.js';

describe('canonicalize (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and drops whitespace (RFC 8785 §3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('serializes numbers in ECMAScript shortest form (RFC 8785 appendix B samples)', () => {
    expect(canonicalize([333333333.33333329, 1e30, 4.5, 2e-3, 0.000001, 1e-7, -0, 1e21])).toBe('[333333333.3333333,1e+30,4.5,0.002,0.000001,1e-7,0,1e+21]');
  });

  it('escapes strings minimally and is stable under key order', () => {
    expect(canonicalize({ b: '\u001f"\\', a: [true, null, 'é'] })).toBe('{"a":[true,null,"é"],"b":"\\u001f\\"\\\\"}');
    expect(canonicalize({ x: 1, y: { b: 2, a: 1 } })).toBe(canonicalize({ y: { a: 1, b: 2 }, x: 1 }));
  });

  it('omits undefined members and refuses non-JSON values', () => {
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(() => canonicalize(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalize(10n)).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalize(cyclic)).toThrow(/cyclic/);
  });

  it('property: parsing the canonical form and canonicalizing again is the identity', () => {
    let seed = 42;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const gen = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3) return [rand() * 1e6 - 5e5, 'k\u00e9\u{1f600}' + Math.floor(rand() * 100), true, null][Math.floor(rand() * 4)];
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => gen(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [String.fromCharCode(32 + Math.floor(rand() * 400)), gen(depth + 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const v = gen(0);
      const c = canonicalize(v);
      expect(canonicalize(JSON.parse(c))).toBe(c);
    }
  });
});

describe('sortedKeys', () => {
  it('gives the keys in UTF-16 code-unit order, whether or not they came so', () => {
    expect(sortedKeys({ a: 1, b: 2, c: 3 })).toEqual(['a', 'b', 'c']);
    expect(sortedKeys({ b: 1, a: 2 })).toEqual(['a', 'b']);
    expect(sortedKeys({ '\u20ac': 1, '\ud83d\ude00': 2, z: 3 })).toEqual(['z', '\u20ac', '\ud83d\ude00']);
    // Integer-like keys come first from Object.keys, in numeric order: "10" before "9" only once sorted.
    expect(sortedKeys({ 9: 'a', 10: 'b', a: 'c' })).toEqual(['10', '9', 'a']);
    expect(sortedKeys({})).toEqual([]);
  });

  it('property: the same order as sorting every key', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.integer()), fc.boolean(), (dict, presort) => {
        const obj = presort ? Object.fromEntries(Object.entries(dict).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : dict;
        expect(sortedKeys(obj)).toEqual(Object.keys(obj).sort());
      }),
      { numRuns: 500 },
    );
  });
});

describe('digests', () => {
  it('hashes known answers', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(digestJson({ b: 1, a: 2 })).toBe(sha256Hex('{"a":2,"b":1}'));
    expect(digestJson(undefined)).toBe(sha256Hex(''));
  });
});

describe('the recursive walk (canonicalText) against the iterative one (writeCanonical)', () => {
  const iterative = (value: unknown): string => {
    const parts: string[] = [];
    writeCanonical(value, (p) => parts.push(p));
    return parts.join('');
  };
  const outcome = (f: () => string | undefined): string => {
    try {
      return `ok:${f()}`;
    } catch (err) {
      return `${(err as Error).name}:${(err as Error).message}`;
    }
  };

  it('property: the same text, or the same error, for any JSON-like value', () => {
    const leaf = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.string({ unit: 'binary' }),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.constant(() => 1),
      fc.date({ noInvalidDate: true }),
      fc.constant({ toJSON: () => ({ b: 1, a: [undefined] }) }),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(fc.string({ unit: 'binary' }), tie('node'))),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(outcome(() => canonicalText(v))).toBe(outcome(() => iterative(v)));
        const text = outcome(() => iterative(v));
        if (v !== undefined && text.startsWith('ok:')) expect(digestJson(v)).toBe(sha256Hex(text.slice(3)));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps shared (not cyclic) members, refuses cycles, and leaves a value too deep for it to the iterative walk', () => {
    const shared = { x: 1 };
    expect(canonicalText({ a: shared, b: [shared, shared] })).toBe('{"a":{"x":1},"b":[{"x":1},{"x":1}]}');
    const cyclic: unknown[] = [];
    cyclic.push([cyclic]);
    expect(() => canonicalText(cyclic)).toThrow(/cyclic/);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 5000; i++) deep = i % 2 ? [deep] : { k: deep };
    expect(canonicalText(deep)).toBeUndefined();
    expect(canonicalize(deep)).toBe(iterative(deep));
    expect(digestJson(deep)).toBe(sha256Hex(iterative(deep)));
  });
});
