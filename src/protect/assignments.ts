/**
 * Finders for `KEY<sep>value` assignments (`.env`, YAML, JSON text, query strings, headers).
 * The key is found and judged first and only an accepted key's value is read (a sticky
 * pattern right after the separator), so the search stays linear in the text.
 */
import type { Span } from './detector.js';

export type KeyTest = (key: string, text: string, keyStart: number) => boolean;
/** Judges the value read after an accepted key (placeholders, entropy). */
export type ValueTest = (value: string, key: string, next: string) => boolean;
const anyValue: ValueTest = () => true;

/** `=`, `:`, `:=`, `=>` with blanks around; never the `:` of `scheme://`. */
export const SEP = String.raw`[ \t]*(?::=|=>|=|:(?!\/\/))[ \t]*`;
const DQ = String.raw`"((?:[^"\\\r\n]|\\.)*)"`;
const SQ = String.raw`'([^'\r\n]*)'`;
/** An unquoted value up to a delimiter; an auth scheme word carries its credential with it. */
const INLINE_VALUE = String.raw`((?:(?:Bearer|Basic|Token|Digest|Negotiate)[ \t]+)?[^\s"',;&<>(){}\[\]=][^\s"',;&<>(){}\[\]]*)`;
/** An unquoted value running to the end of the line (trailing blanks excluded). */
const LINE_VALUE = String.raw`(\S(?:[^\r\n]*\S)?)`;
const LINE_START = String.raw`^[ \t]*(?:-[ \t]+)?(?:export[ \t]+)?`;

const INLINE_VALUE_AT = new RegExp(`[ \\t]*(?:${DQ}|${SQ}|${INLINE_VALUE})`, 'yd');
const LINE_VALUE_AT = new RegExp(`(?:${DQ}|${SQ}|${LINE_VALUE})`, 'yd');
/** Group 1: the key's quote, group 2: the key. */
const LINE_KEY = new RegExp(String.raw`${LINE_START}(["']?)([A-Za-z_][A-Za-z0-9_.\-]*)\1${SEP}`, 'gm');
const LINE_ANY_KEY = new RegExp(String.raw`${LINE_START}(["']?)([^\s=:"']+)\1${SEP}`, 'gm');
const SEP_CHAR = /[=:]/g;

/** Reads the value after `at`; returns its span and where the search may resume. */
function readValue(pattern: RegExp, text: string, at: number): { span?: Span; next: number } | undefined {
  pattern.lastIndex = at;
  const v = pattern.exec(text);
  const range = v?.indices?.[1] ?? v?.indices?.[2] ?? v?.indices?.[3];
  if (!range) return undefined;
  return { span: range[1] > range[0] ? { start: range[0], end: range[1] } : undefined, next: pattern.lastIndex };
}

/** Assignments at the start of a line; the unquoted value runs to the end of the line. */
export function findLineAssignments(anyKey: boolean, acceptKey: KeyTest, acceptValue: ValueTest = anyValue): (text: string) => Span[] {
  const keyPattern = anyKey ? LINE_ANY_KEY : LINE_KEY;
  return (text) => {
    const spans: Span[] = [];
    keyPattern.lastIndex = 0;
    for (let m = keyPattern.exec(text); m !== null; m = keyPattern.exec(text)) {
      if (!acceptKey(m[2] ?? '', text, m.index)) continue;
      const value = readValue(LINE_VALUE_AT, text, keyPattern.lastIndex);
      if (!value) continue;
      if (value.span && acceptValue(text.slice(value.span.start, value.span.end), m[2] ?? '', text[value.span.end] ?? '')) spans.push(value.span);
      keyPattern.lastIndex = value.next;
    }
    return spans;
  };
}

const isKeyChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45; // 0-9 A-Z a-z _ . -
const isKeyStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/** The key written just before a separator at `sep` (`KEY`, `"KEY"`, `'KEY'`, blanks allowed), or undefined. */
function keyBefore(text: string, sep: number): { key: string; start: number } | undefined {
  let i = sep;
  while (i > 0 && (text[i - 1] === ' ' || text[i - 1] === '\t')) i--;
  const quote = text[i - 1] === '"' || text[i - 1] === "'" ? text[i - 1] : '';
  if (quote) i--;
  const end = i;
  while (i > 0 && isKeyChar(text.charCodeAt(i - 1))) i--;
  if (i === end || !isKeyStart(text.charCodeAt(i))) return undefined;
  if (!quote) return { key: text.slice(i, end), start: i };
  return text[i - 1] === quote ? { key: text.slice(i, end), start: i - 1 } : undefined;
}

/** Length of the separator at `i` (`=`, `:`, `:=`, `=>`), or 0 when it is not one (`==`, `://`). */
function separatorAt(text: string, i: number): number {
  const c = text[i];
  const n = text[i + 1];
  if (c === ':') return n === '=' ? 2 : n === '/' && text[i + 2] === '/' ? 0 : 1;
  if (text[i - 1] === '=' || text[i - 1] === ':') return 0; // second half of `==` / `:=`
  return n === '>' ? 2 : 1;
}

/** Assignments anywhere in a line: found from each separator, the key read backwards. */
export function findInlineAssignments(acceptKey: KeyTest, acceptValue: ValueTest = anyValue): (text: string) => Span[] {
  return (text) => {
    const spans: Span[] = [];
    SEP_CHAR.lastIndex = 0;
    for (let m = SEP_CHAR.exec(text); m !== null; m = SEP_CHAR.exec(text)) {
      const sepLength = separatorAt(text, m.index);
      if (sepLength === 0) continue;
      const key = keyBefore(text, m.index);
      if (!key || !acceptKey(key.key, text, key.start)) continue;
      const value = readValue(INLINE_VALUE_AT, text, m.index + sepLength);
      if (!value) continue;
      if (value.span && acceptValue(text.slice(value.span.start, value.span.end), key.key, text[value.span.end] ?? '')) spans.push(value.span);
      SEP_CHAR.lastIndex = Math.max(SEP_CHAR.lastIndex, value.next);
    }
    return spans;
  };
}
