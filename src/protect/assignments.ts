/**
 * Finders for `KEY<sep>value` assignments (`.env`, YAML, JSON text, query strings, headers).
 * The key is found and judged first and only an accepted key's value is read (a sticky
 * pattern right after the separator), so the search stays linear in the text.
 */
import type { Offsets, Span } from './detector.js';

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

const INLINE_VALUE_AT = new RegExp(`[ \\t]*(?:${DQ}|${SQ}|${INLINE_VALUE})`, 'y');
const LINE_VALUE_AT = new RegExp(`(?:${DQ}|${SQ}|${LINE_VALUE})`, 'y');
/** Group 1: the key's quote, group 2: the key. */
const LINE_KEY = new RegExp(String.raw`${LINE_START}(["']?)([A-Za-z_][A-Za-z0-9_.\-]*)\1${SEP}`, 'gm');
const LINE_ANY_KEY = new RegExp(String.raw`${LINE_START}(["']?)([^\s=:"']+)\1${SEP}`, 'gm');
const SEP_CHAR = /[=:]/g;
const isLineBreak = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

/**
 * Reads the value after `at`: its text and span (none when empty) and where the search may resume.
 * Group 1 or 2 is a quoted value (its closing quote ends the match), group 3 an unquoted one.
 */
function readValue(pattern: RegExp, text: string, at: number): { value: string; span?: Span; next: number } | undefined {
  pattern.lastIndex = at;
  const v = pattern.exec(text);
  if (!v) return undefined;
  const quoted = v[1] ?? v[2];
  const value = quoted ?? v[3] ?? '';
  const end = v.index + v[0].length - (quoted === undefined ? 0 : 1);
  return { value, span: value.length > 0 ? { start: end - value.length, end } : undefined, next: pattern.lastIndex };
}

/**
 * Finds spans in a text; given `keywordStarts` (ascending offsets of the words an accepted key
 * must hold), it looks only at the keys holding one.
 */
export type AssignmentFinder = (text: string, keywordStarts?: Offsets) => Span[];

/** Assignments at the start of a line; the unquoted value runs to the end of the line. */
export function findLineAssignments(anyKey: boolean, acceptKey: KeyTest, acceptValue: ValueTest = anyValue): AssignmentFinder {
  const keyPattern = anyKey ? LINE_ANY_KEY : LINE_KEY;
  const keyAt = new RegExp(keyPattern.source, 'ym');
  return (text, keywordStarts) => {
    const spans: Span[] = [];
    /** The key and value of the line at `at` (a line start, or where the last value ended); where to go on. */
    const at = (m: RegExpExecArray, re: RegExp): void => {
      if (!acceptKey(m[2] ?? '', text, m.index)) return;
      const value = readValue(LINE_VALUE_AT, text, re.lastIndex);
      if (!value) return;
      if (value.span && acceptValue(value.value, m[2] ?? '', text[value.span.end] ?? '')) spans.push(value.span);
      re.lastIndex = value.next;
    };
    if (keywordStarts) {
      // Neither key nor value runs past its line (`^` of the `m` flag: after \n, \r, U+2028, U+2029),
      // so each line holding a keyword is looked at on its own, from its start.
      // A quoted value may run past U+2028/U+2029, so a line starting inside the last value is skipped, as the full scan does.
      // A keyword in the line's key reaches a separator over key characters, and the line's start
      // over key characters and what may precede a key: other hits are passed over before the line
      // is read (a key holding several keywords is looked at once; no walk back passes a keyword).
      let lineEnd = -1;
      let resume = 0;
      let keyEnd = -1;
      for (const hit of keywordStarts) {
        if (hit < lineEnd || hit < keyEnd) continue;
        keyEnd = keyEndAt(text, hit);
        if (separatorAfter(text, keyEnd) < 0) continue;
        const lineStart = lineStartBeforeKey(text, hit);
        if (lineStart < 0) continue;
        lineEnd = hit;
        while (lineEnd < text.length && !isLineBreak(text.charCodeAt(lineEnd))) lineEnd++;
        if (lineStart < resume) continue;
        keyAt.lastIndex = lineStart;
        const m = keyAt.exec(text);
        if (!m) continue;
        at(m, keyAt);
        resume = keyAt.lastIndex;
      }
      return spans;
    }
    keyPattern.lastIndex = 0;
    for (let m = keyPattern.exec(text); m !== null; m = keyPattern.exec(text)) at(m, keyPattern);
    return spans;
  };
}

const isKeyChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45; // 0-9 A-Z a-z _ . -
const isKeyStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/** Where the key holding offset `at` ends. */
function keyEndAt(text: string, at: number): number {
  let end = at;
  while (end < text.length && isKeyChar(text.charCodeAt(end))) end++;
  return end;
}

/** What may stand before a line's key: blanks, the `-` of a list item, `export`, the key's quote. */
const isKeyPrefixChar = (c: number): boolean =>
  c === 32 || c === 9 || c === 45 || c === 34 || c === 39 || c === 101 || c === 120 || c === 112 || c === 111 || c === 114 || c === 116; // ' ' \t - " ' e x p o r t

/**
 * The start of the line holding `at` when only key characters and what may precede a key stand
 * between the two, else -1 (then no line key holds `at`). Every keyword holds a character that
 * may not precede a key, so this walk never passes an earlier keyword.
 */
function lineStartBeforeKey(text: string, at: number): number {
  let i = at;
  while (i > 0 && isKeyChar(text.charCodeAt(i - 1))) i--;
  while (i > 0 && isKeyPrefixChar(text.charCodeAt(i - 1))) i--;
  return i === 0 || isLineBreak(text.charCodeAt(i - 1)) ? i : -1;
}

/** The `=` or `:` after a key ending at `keyEnd` (past a closing quote and blanks), or -1. */
function separatorAfter(text: string, keyEnd: number): number {
  let sep = keyEnd;
  if (text[sep] === '"' || text[sep] === "'") sep++;
  while (text[sep] === ' ' || text[sep] === '\t') sep++;
  return text[sep] === '=' || text[sep] === ':' ? sep : -1;
}

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

/**
 * Assignments anywhere in a line: found from each separator, the key read backwards. Given
 * keyword starts, only the separators right after a key holding a keyword are looked at (in
 * the same order, so a value that swallows a later separator still hides it).
 */
export function findInlineAssignments(acceptKey: KeyTest, acceptValue: ValueTest = anyValue): AssignmentFinder {
  return (text, keywordStarts) => {
    const spans: Span[] = [];
    /** Judges the assignment at separator `sep`; returns where the search may resume. */
    const at = (sep: number, resume: number): number => {
      const sepLength = separatorAt(text, sep);
      if (sepLength === 0) return resume;
      const key = keyBefore(text, sep);
      if (!key || !acceptKey(key.key, text, key.start)) return resume;
      const value = readValue(INLINE_VALUE_AT, text, sep + sepLength);
      if (!value) return resume;
      if (value.span && acceptValue(value.value, key.key, text[value.span.end] ?? '')) spans.push(value.span);
      return Math.max(resume, value.next);
    };
    if (keywordStarts) {
      // From each keyword to the end of the key that holds it, past an optional closing quote and
      // blanks, to the separator; further keywords in the same key are skipped, so this is linear.
      let resume = 0;
      let keyEnd = -1;
      for (const hit of keywordStarts) {
        if (hit < keyEnd) continue;
        keyEnd = keyEndAt(text, hit);
        const sep = separatorAfter(text, keyEnd);
        if (sep >= resume) resume = at(sep, sep + 1);
      }
      return spans;
    }
    SEP_CHAR.lastIndex = 0;
    for (let m = SEP_CHAR.exec(text); m !== null; m = SEP_CHAR.exec(text)) SEP_CHAR.lastIndex = at(m.index, SEP_CHAR.lastIndex);
    return spans;
  };
}
