/**
 * A bundle's custom redaction pattern, checked before it is compiled: a regular expression a
 * policy author writes must stay linear-time on any input. Allowed: literals, classes, groups,
 * alternation, `?` and bounded `{m}` / `{m,n}` (n ≤ 256). Refused: `*`, `+`, `{m,}`,
 * backreferences, lookarounds, and a repeated group that itself repeats or alternates
 * (`(a|ab){1,9}`, `(a{1,9}){1,9}`), the shapes that make a backtracking engine explode.
 */
import type { RedactionPattern } from '../kernel/index.js';
import type { DetectorSpec } from './detector.js';

const MAX_SOURCE = 512;
const MAX_REPEAT = 256;

interface Group {
  repeats: boolean;
  alternates: boolean;
}

/** Reads a `{m}` / `{m,n}` quantifier at `i`; returns its end and upper bound, or an error. */
function readBraces(src: string, i: number): { end: number; max: number } | string {
  const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(src.slice(i, i + 12));
  if (!m) return 'a "{" that is not a {m} or {m,n} quantifier (escape it as \\{)';
  if (m[2] !== undefined && m[3] === '') return 'an unbounded {m,} quantifier';
  const max = Number(m[3] ?? m[1]);
  if (max > MAX_REPEAT) return `a quantifier above ${MAX_REPEAT}`;
  return { end: i + m[0].length, max };
}

/** Skips a character class starting at `i` (the `[`); returns the index after its `]`. */
function skipClass(src: string, i: number): number {
  let j = i + 1;
  if (src[j] === '^') j++;
  if (src[j] === ']') j++;
  while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Why a pattern source is unsafe, or undefined when it is bounded. */
export function unsafePatternReason(src: string): string | undefined {
  if (src.length === 0 || src.length > MAX_SOURCE) return `a pattern of 1 to ${MAX_SOURCE} characters`;
  const stack: Group[] = [{ repeats: false, alternates: false }];
  for (let i = 0; i < src.length;) {
    const c = src[i]!;
    if (c === '\\') {
      if (/[1-9k]/.test(src[i + 1] ?? '')) return 'a backreference';
      i += 2;
    } else if (c === '[') {
      i = skipClass(src, i);
    } else if (c === '(') {
      if (/^\(\?(?:[=!]|<[=!])/.test(src.slice(i, i + 4))) return 'a lookaround';
      stack.push({ repeats: false, alternates: false });
      i++;
    } else if (c === ')') {
      const group = stack.pop();
      if (!group || stack.length === 0) return 'unbalanced parentheses';
      i++;
      let max = 1;
      if (src[i] === '{') {
        const q = readBraces(src, i);
        if (typeof q === 'string') return q;
        max = q.max;
        i = q.end;
      } else if (src[i] === '*' || src[i] === '+') return `an unbounded "${src[i]}" quantifier`;
      if (max > 1 && (group.repeats || group.alternates)) return 'a repeated group that itself repeats or alternates';
      const parent = stack[stack.length - 1]!;
      parent.repeats ||= group.repeats || max > 1;
      parent.alternates ||= group.alternates;
    } else if (c === '*' || c === '+') {
      return `an unbounded "${c}" quantifier`;
    } else if (c === '{') {
      const q = readBraces(src, i);
      if (typeof q === 'string') return q;
      if (q.max > 1) stack[stack.length - 1]!.repeats = true;
      i = q.end;
    } else {
      if (c === '|') stack[stack.length - 1]!.alternates = true;
      i++;
    }
  }
  return stack.length === 1 ? undefined : 'unbalanced parentheses';
}

/** Every problem with a bundle's custom patterns (empty when all are usable). */
export function checkCustomPatterns(patterns: readonly RedactionPattern[]): string[] {
  const problems: string[] = [];
  for (const p of patterns) {
    const reason = unsafePatternReason(p.pattern);
    if (reason) {
      problems.push(`redaction.patterns.${p.id}: not bounded: ${reason}`);
      continue;
    }
    try {
      new RegExp(p.pattern, 'u');
    } catch {
      problems.push(`redaction.patterns.${p.id}: not a valid regular expression`);
    }
  }
  return problems;
}

/** The detector a custom pattern becomes; its rule id is `custom:ID`. */
export function customDetector(p: RedactionPattern): DetectorSpec {
  return {
    id: `custom:${p.id}`,
    type: p.type,
    basis: 'structure',
    description: `Bundle pattern ${p.id}`,
    pattern: new RegExp(p.pattern, p.ignoreCase ? 'iu' : 'u'),
    examples: { positive: [], negative: [] },
  };
}
