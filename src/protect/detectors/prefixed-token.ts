/**
 * Builds a detector from a vendor token format written as data: literal parts (the vendor
 * prefix) and character-class parts with bounded lengths. The first literal is the prefilter
 * keyword and the pattern runs sticky at each of its hits, so the search is linear and
 * only runs where a token can start. The same table generates test vectors.
 */
import type { DetectorSpec } from '../detector.js';
import { isFillerToken } from './placeholders.js';

/** A literal, or a character class body (`A-Za-z0-9`) with a length or a length range. */
export type TokenPart = string | readonly [cls: string, min: number, max?: number];

export interface TokenFormat {
  readonly id: string;
  readonly description: string;
  readonly parts: readonly TokenPart[];
  /** Leading parts kept in clear (`AccountKey=` before the key); the rest is redacted. */
  readonly keep?: number;
}

export const AN = 'A-Za-z0-9';
export const LAN = 'a-z0-9';
export const UAN = 'A-Z0-9';
export const HEX = 'a-f0-9';
export const UHEX = 'A-F0-9';
export const MHEX = 'A-Fa-f0-9';
export const B64U = 'A-Za-z0-9_-';
export const B64 = 'A-Za-z0-9+/';
export const DIGITS = '0-9';
export const ALPHA = 'A-Za-z';

const escapeLiteral = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const quantifier = (min: number, max: number | undefined): string => (max === undefined ? `{${min}}` : max === Infinity ? `{${min},512}` : `{${min},${max}}`);

function partSource(part: TokenPart): string {
  return typeof part === 'string' ? escapeLiteral(part) : `[${part[0]}]${quantifier(part[1], part[2])}`;
}

/** Every character a class body stands for (`a-f0-9` → `abcdef0123456789`). */
export function expandClass(cls: string): string {
  let out = '';
  for (let i = 0; i < cls.length; i++) {
    const c = cls[i]!;
    if (c === '\\') {
      out += cls[++i] ?? '';
    } else if (cls[i + 1] === '-' && i + 2 < cls.length) {
      for (let code = c.charCodeAt(0); code <= cls.charCodeAt(i + 2); code++) out += String.fromCharCode(code);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

function keywordOf(format: TokenFormat): { keyword: string; offset: number } {
  let offset = 0;
  for (const part of format.parts) {
    if (typeof part === 'string') return { keyword: part.toLowerCase(), offset };
    if (part[2] !== undefined && part[2] !== part[1]) throw new Error(`${format.id}: variable-length part before the literal`);
    offset += part[1];
  }
  throw new Error(`${format.id}: no literal part`);
}

/** Do the format's class parts allow both letters and digits (so a long random body holds a digit)? */
function mixesLettersAndDigits(format: TokenFormat): boolean {
  const classes = format.parts
    .filter((p): p is readonly [string, number, number?] => typeof p !== 'string')
    .map((p) => p[0])
    .join('');
  return /0-9/.test(classes) && /[a-zA-Z]-[a-zA-Z]/.test(classes);
}

/** The random body (the class parts) must not be filler, and holds a digit when its classes are `mixed` and it is long. */
function validBody(mixed: boolean, m: RegExpExecArray, classGroups: readonly number[]): boolean {
  const body = classGroups.map((g) => m[g] ?? '').join('');
  if (isFillerToken(body) || isFillerToken(m[0])) return false;
  return !mixed || body.length < 20 || /\d/.test(body);
}

export function tokenDetector(format: TokenFormat): DetectorSpec {
  const { keyword, offset } = keywordOf(format);
  const keep = format.keep ?? 0;
  const last = format.parts[format.parts.length - 1]!;
  const tailClass = typeof last === 'string' ? 'A-Za-z0-9' : `A-Za-z0-9${last[0]}`;
  const mixed = mixesLettersAndDigits(format);
  // Class parts are captured so the validator sees the random body; with `keep`, one more group holds the redacted span.
  const classGroups: number[] = [];
  let next = 1;
  let spanGroup: number | undefined;
  let source = '(?<![A-Za-z0-9_])';
  format.parts.forEach((p, i) => {
    if (i === keep && keep > 0) {
      spanGroup = next++;
      source += '(';
    }
    if (typeof p === 'string') source += partSource(p);
    else {
      classGroups.push(next++);
      source += `(${partSource(p)})`;
    }
  });
  if (spanGroup !== undefined) source += ')';
  source += `(?![${tailClass}])`;
  return {
    id: format.id,
    type: 'secret',
    basis: 'prefix',
    description: format.description,
    keywords: [keyword],
    offset,
    pattern: new RegExp(source),
    groups: spanGroup === undefined ? undefined : [spanGroup],
    validate: (m) => validBody(mixed, m, classGroups),
    examples: { positive: [positiveExample(format)], negative: [shortenedToken(format)] },
  };
}

/** A deterministic pseudo-random generator (mulberry32), for test vectors and the corpus. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A token of this format with random class parts (each long mixed part gets a digit). */
export function exampleToken(format: TokenFormat, seed: number): string {
  const rand = seededRandom(seed * 7919 + format.id.length);
  return format.parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const chars = expandClass(p[0]);
      const max = p[2] === undefined ? p[1] : Math.min(p[2] === Infinity ? p[1] + 40 : p[2], p[1] + 40);
      const n = p[1] + Math.floor(rand() * (max - p[1] + 1));
      let s = '';
      for (let i = 0; i < n; i++) s += chars[Math.floor(rand() * chars.length)]!;
      const digits = chars.replace(/[^0-9]/g, '');
      if (digits && n >= 4 && !/\d/.test(s)) s = digits[Math.floor(rand() * digits.length)]! + s.slice(1);
      return s;
    })
    .join('');
}

/** A token and the part of it that must go (all of it unless leading parts are kept). */
function positiveExample(format: TokenFormat): readonly [string, string] {
  const token = exampleToken(format, 1);
  const kept = format.parts
    .slice(0, format.keep ?? 0)
    .map((p) => (typeof p === 'string' ? p : ''))
    .join('');
  return [token, token.slice(kept.length)];
}

/** The format's prefix with a body too short to be a token (a hard negative). */
function shortenedToken(format: TokenFormat): string {
  const { keyword } = keywordOf(format);
  const literal = format.parts.find((p): p is string => typeof p === 'string' && p.toLowerCase() === keyword)!;
  return `${literal}abc1`;
}
