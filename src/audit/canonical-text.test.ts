import { describe, expect, it } from 'vitest';
import { canonicalize } from '../kernel/index.js';
import { isCanonicalJsonText, scanCanonicalText } from './canonical-text.js';
import { makeEntry } from './index.test-support.js';

/** A seeded random JSON value: nested objects and arrays, odd keys, numbers and strings (escapes, non-ASCII). */
function randomJson(seed: number): unknown {
  let state = seed;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const pieces = ['a', 'b', 'Z', '10', '9', 'é', '"', '\\', '\n', '\u0001', '/', ' ', '😀', 'key'];
  const str = (): string => Array.from({ length: rand(4) }, () => pieces[rand(pieces.length)]!).join('');
  const numbers = [0, -1, 1.5, 1e21, 1e-7, 123456789, -0.25, 2 ** 53];
  const value = (depth: number): unknown => {
    switch (depth > 3 ? rand(4) : rand(6)) {
      case 0:
        return numbers[rand(numbers.length)];
      case 1:
        return str();
      case 2:
        return [true, false, null][rand(3)];
      case 3:
        return rand(2) === 0 ? str() : numbers[rand(numbers.length)];
      case 4:
        return Array.from({ length: rand(4) }, () => value(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: rand(5) }, () => [str(), value(depth + 1)]));
    }
  };
  return value(0);
}
const SAMPLES = Array.from({ length: 3000 }, (_, i) => randomJson(i + 1));

describe('isCanonicalJsonText: shows RFC 8785 form without serialising', () => {
  it('accepts the canonical text of audit rows and of any JSON value whose keys need no escape', () => {
    expect(isCanonicalJsonText(canonicalize({ ...makeEntry(1), seq: 1, hash: 'a'.repeat(64), prev_hash: 'b'.repeat(64) }))).toBe(true);
    let shown = 0;
    for (const value of SAMPLES) {
      const text = canonicalize(value);
      // Keys with an escape, and surrogates, are left to the canonicaliser ("not shown here").
      if (/"(?:[^"\\]|\\.)*\\(?:[^"\\]|\\.)*":/.test(text) || /[\uD800-\uDFFF]/.test(text)) continue;
      expect(isCanonicalJsonText(text), text).toBe(true);
      shown += 1;
    }
    expect(shown).toBeGreaterThan(1000);
  });

  it('is sound: whenever it says canonical, the text is exactly the canonical form of what it parses to', () => {
    const variants = (text: string): string[] => [
      text,
      text.replace(':', ': '),
      text.replace(/,/, ' ,'),
      text.replace(/"([a-z]+)":(\d+),"([a-z]+)":/, '"$3":$2,"$1":'),
      text.replace(/(\d)/, '$1.0'),
      text.replace(/\//g, '\\/'),
      text.replace(/é/g, '\\u00e9'),
      text.replace(/\\n/g, '\\u000a'),
      `${text} `,
    ];
    let refused = 0;
    for (const value of SAMPLES) {
      for (const candidate of variants(canonicalize(value))) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(candidate);
        } catch {
          continue;
        }
        if (isCanonicalJsonText(candidate)) expect(candidate).toBe(canonicalize(parsed));
        else refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  it('refuses the usual non-canonical forms', () => {
    for (const text of [
      '{"b":1,"a":2}',
      '{"a":1,"a":2}',
      '{ "a":1}',
      '{"a":1.0}',
      '{"a":-0}',
      '{"a":1E3}',
      '["\\/"]',
      '["\\u0041"]',
      '["\\u001F"]',
      '[1,\n2]',
    ]) {
      expect(isCanonicalJsonText(text), text).toBe(false);
    }
    for (const text of ['{"a":[1,2,{"b":null,"c":true}],"d":"é\\n\\u001f"}', '[]', '{}', '"x"', '1e+21', '[false,-1.5]']) {
      expect(isCanonicalJsonText(text), text).toBe(true);
    }
  });

  it('validates the JSON grammar itself: refuses every text JSON.parse refuses', () => {
    for (const text of [
      '{"a":1',
      '{"a":1}}',
      '{"a":1}{"b":2}',
      '{"a" 1}',
      '{"a":1,}',
      '{,}',
      '[1,]',
      '[,1]',
      '[1 2]',
      '{"a":tru}',
      '{"a":nul}',
      '{"a":fals}',
      '{"a":trueish}',
      '{"a":"x}',
      '{"a":"x\u0001y"}',
      '{"a":1]',
      '[1}',
      '{1:2}',
      '{"a"}',
      '{"a":}',
      '',
      ']',
    ]) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(isCanonicalJsonText(text), text).toBe(false);
    }
  });

  it('is sound on mangled texts: whatever it accepts parses, and is the canonical form of what it parses to', () => {
    let accepted = 0;
    SAMPLES.forEach((value, k) => {
      const text = canonicalize(value);
      for (let m = 0; m < 6; m += 1) {
        const at = (k * 7 + m * 13) % Math.max(1, text.length);
        const mangled = [
          text.slice(0, at) + text.slice(at + 1),
          text.slice(0, at) + text[at] + text.slice(at),
          text.slice(0, at) + text.slice(at + 1, at + 2) + text[at] + text.slice(at + 2),
        ][m % 3]!;
        if (!isCanonicalJsonText(mangled)) continue;
        accepted += 1;
        expect(canonicalize(JSON.parse(mangled)), mangled).toBe(mangled);
      }
    });
    expect(accepted).toBeGreaterThan(0);
  });

  it('gives the members the chain needs from the same pass, and where the hash member stands', () => {
    const record = { ...makeEntry(1), seq: 7, hash: 'a'.repeat(64), prev_hash: 'b'.repeat(64) };
    const text = canonicalize(record);
    const found = scanCanonicalText(text)!;
    expect(found).toMatchObject({ schema: record.schema, seq: 7, prev_hash: record.prev_hash, hash: record.hash, event: record.event });
    expect(text.slice(found.hashFrom, found.hashTo)).toBe(`,"hash":"${record.hash}"`);
    // Nested members of the same names are not the top level's; a non-string where a string is wanted is no value.
    const nested = scanCanonicalText('{"a":{"hash":"x","seq":1},"event":{"x":1},"hash":"h","seq":2}')!;
    expect(nested).toMatchObject({ hash: 'h', seq: 2, event: undefined });
    expect(scanCanonicalText('{"hash":"h","seq":2}')).toMatchObject({ hash: 'h', hashFrom: -1 }); // first member: no comma to cut at
    expect(scanCanonicalText('{"a":1,"hash":{"b":2}}')).toMatchObject({ hash: undefined, hashFrom: -1 });
  });
});

describe('the scan on keys', () => {
  it('leaves a key with an escape to the canonicaliser, wherever the escape stands in the text', () => {
    for (const text of ['{"a\\nb":1}', '{"a":"x\\ty","b\\"c":2}', '{"a":1,"b":{"c\\\\":2}}']) {
      expect(() => JSON.parse(text), text).not.toThrow();
      expect(isCanonicalJsonText(text), text).toBe(false);
    }
  });
});
