/**
 * Property-style tests: random text with known sensitive values embedded at random places
 * (seeded, so a failure reproduces). Every embedded value must disappear, the right marker
 * must appear, and a second pass must find nothing new.
 */
import { describe, expect, it } from 'vitest';
import { checksummedToken, isLuhnValid } from './detectors/index.js';
import { createProtector } from './protector.js';
import { redactText } from './redact-text.js';

/** mulberry32: a small seeded PRNG. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const int = (rnd: Random, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(rnd: Random, items: readonly T[]): T => items[int(rnd, 0, items.length - 1)]!;
const chars = (rnd: Random, alphabet: string, n: number): string => Array.from({ length: n }, () => pick(rnd, [...alphabet])).join('');
const pad = (n: number, width: number): string => String(n).padStart(width, '0');
/** At least one digit and one capital: never collides with the lowercase filler. */
const token = (rnd: Random, n: number): string => `Q7${chars(rnd, ALNUM, n - 2)}`;

function luhnCard(rnd: Random): string {
  const body = `4${chars(rnd, '0123456789', 14)}`;
  const check = [...'0123456789'].find((d) => isLuhnValid(body + d))!;
  const digits = body + check;
  return rnd() < 0.5 ? digits : digits.replace(/(\d{4})(?=\d)/g, '$1' + pick(rnd, [' ', '-']));
}

interface Embedded {
  readonly text: string;
  /** The part that must not survive redaction. */
  readonly value: string;
  readonly type: string;
  /** A KEY=value at a line start takes the rest of the line, so it must end one. */
  readonly endsLine?: boolean;
}

const GENERATORS: ReadonlyArray<(rnd: Random) => Embedded> = [
  (r) => ({ text: '', value: checksummedToken('ghp_', int(r, 1, 1e9)), type: 'secret' }),
  (r) => ({ text: '', value: `AKIA${chars(r, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`, type: 'secret' }),
  (r) => ({ text: '', value: `sk_live_${token(r, 24)}`, type: 'secret' }),
  (r) => ({ text: '', value: `sk-ant-api03-${token(r, 40)}`, type: 'secret' }),
  (r) => ({ text: '', value: `xoxb-${int(r, 100000, 999999)}-${token(r, 20)}`, type: 'secret' }),
  (r) => ({ text: '', value: `eyJ${token(r, 20)}.eyJ${token(r, 30)}.${token(r, 43)}`, type: 'jwt' }),
  (r) => {
    const value = token(r, 18);
    return {
      text: `${pick(r, ['API_KEY', 'db_password', 'authToken', 'CLIENT_SECRET'])}${pick(r, ['=', ': ', ' = '])}${value}`,
      value,
      type: 'secret',
      endsLine: true,
    };
  },
  (r) => {
    const value = `${pad(int(r, 1, 665), 3)}-${pad(int(r, 1, 99), 2)}-${pad(int(r, 1, 9999), 4)}`;
    return { text: '', value, type: 'ssn' };
  },
  (r) => ({ text: '', value: `${chars(r, 'abcdefghij', 6)}.${token(r, 5)}@example.org`, type: 'email' }),
  (r) => ({ text: '', value: luhnCard(r), type: 'card' }),
  (r) => ({ text: '', value: `(${int(r, 201, 989)}) ${int(r, 200, 999)}-${pad(int(r, 0, 9999), 4)}`, type: 'phone' }),
  (r) => {
    const value = `M${int(r, 100000, 99999999)}`;
    return { text: `MRN: ${value}`, value, type: 'mrn' };
  },
  (r) => {
    const value = `${chars(r, 'abcdef', 5)}:${token(r, 14)}`;
    return { text: `postgres://${value}@db.example.net/app`, value, type: 'secret' };
  },
];

const FILLER = ['the', 'patient', 'note', 'tool', 'call', 'returned', 'a', 'file', 'with', 'values', 'and', 'v2', 'ok', '.', ',', ':', '-', '(', ')', '"'];

function generate(rnd: Random): { text: string; embedded: Embedded[] } {
  const parts: string[] = [];
  const embedded: Embedded[] = [];
  const items = int(rnd, 1, 8);
  for (let i = 0; i < items; i++) {
    for (let w = int(rnd, 0, 6); w > 0; w--) parts.push(pick(rnd, FILLER), pick(rnd, [' ', ' ', '\n']));
    const e = pick(rnd, GENERATORS)(rnd);
    const item = { ...e, text: e.text || e.value };
    embedded.push(item);
    parts.push(item.text, item.endsLine ? '\n' : pick(rnd, [' ; ', '\n', ', ', ' \n']));
  }
  return { text: parts.join(''), embedded };
}

describe('redaction properties (seeded)', () => {
  it('every embedded value disappears, its marker appears, and a second pass is a no-op', () => {
    const rnd = createRandom(0xc0ffee);
    for (let round = 0; round < 500; round++) {
      const { text, embedded } = generate(rnd);
      const once = redactText(text);
      for (const e of embedded) {
        expect(once.text, `round ${round}: ${JSON.stringify(text)}`).not.toContain(e.value);
        expect(once.text, `round ${round}`).toContain(`[redacted:${e.type}]`);
      }
      expect(once.count, `round ${round}: ${JSON.stringify(text)}`).toBe(embedded.length);
      expect(once.types).toEqual([...new Set(embedded.map((e) => e.type))].sort());
      const twice = redactText(once.text);
      expect(twice.count, `round ${round}: ${JSON.stringify(once.text)}`).toBe(0);
      expect(twice.text).toBe(once.text);
    }
  });

  it('secret-file mode is idempotent too', () => {
    const rnd = createRandom(42);
    for (let round = 0; round < 200; round++) {
      const lines = Array.from({ length: int(rnd, 1, 6) }, () => `${pick(rnd, ['DEBUG', 'PORT', 'HOST', 'NODE_ENV'])}=${token(rnd, 10)}`);
      const once = redactText(lines.join('\n'), { dataClasses: ['secret_file'] });
      expect(once.count).toBe(lines.length);
      expect(redactText(once.text, { dataClasses: ['secret_file'] }).count).toBe(0);
    }
  });

  it('random JSON shapes: values gone, counts add up, input untouched', () => {
    const rnd = createRandom(7);
    const protector = createProtector();
    for (let round = 0; round < 200; round++) {
      const embedded: Embedded[] = [];
      const leaf = (): unknown => {
        const roll = rnd();
        if (roll < 0.2) return int(rnd, 0, 1000);
        if (roll < 0.3) return rnd() < 0.5;
        if (roll < 0.35) return null;
        const { text, embedded: e } = generate(rnd);
        embedded.push(...e);
        return text;
      };
      const node = (depth: number): unknown => {
        if (depth > 3 || rnd() < 0.3) return leaf();
        if (rnd() < 0.5) return Array.from({ length: int(rnd, 0, 4) }, () => node(depth + 1));
        return Object.fromEntries(Array.from({ length: int(rnd, 0, 4) }, (_, i) => [`k${i}`, node(depth + 1)]));
      };
      const input = node(0);
      const before = JSON.stringify(input);
      const out = protector.redact(input);
      expect(JSON.stringify(input)).toBe(before);
      const serialized = JSON.stringify(out.value);
      for (const e of embedded) expect(serialized).not.toContain(e.value);
      expect(out.count).toBe(embedded.length);
      expect(protector.redact(out.value).count).toBe(0);
    }
  });
});
