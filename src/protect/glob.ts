/**
 * A small glob matcher over POSIX paths: `**` (any number of segments, including none),
 * `*` (any characters but `/`), `?` (one character but `/`), `{a,b}` (alternatives, may
 * nest), `\x` (a literal x). Everything else is literal; `*` and `**` match dot-files too.
 * `dir/**` also matches `dir` itself.
 *
 * No regular expressions: segments are matched with a linear-backtracking wildcard matcher
 * and `**` with a table over (glob segment, path segment), so an agent-supplied path cannot
 * make a bundle's glob take exponential (or high-polynomial) time.
 */
import { CustosError } from '../kernel/index.js';

export interface GlobOptions {
  /** Case-insensitive matching. */
  readonly nocase?: boolean;
}

type Token = { readonly kind: 'lit'; readonly ch: string } | { readonly kind: 'any' } | { readonly kind: 'star' };
type Segment = 'globstar' | readonly Token[];

/** A compiled glob: its brace alternatives, each a list of segments. */
export interface CompiledGlob {
  readonly alternatives: readonly (readonly Segment[])[];
  readonly nocase: boolean;
}

const MAX_ALTERNATIVES = 256;
const CACHE_LIMIT = 1000;
const cache = new Map<string, CompiledGlob>();

/** Index of the `}` closing the `{` at `open`, or -1. */
function findClose(glob: string, open: number): number {
  let depth = 0;
  for (let i = open; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** Splits a brace body on its top-level commas. */
function splitAlternatives(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(body.slice(from));
  return parts;
}

/** Brace expansion: `a{b,c{d,e}}` → `ab`, `acd`, `ace`. An unclosed `{` is literal. */
function expandBraces(glob: string, out: string[]): void {
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === '\\') {
      i++;
      continue;
    }
    if (glob[i] !== '{') continue;
    const close = findClose(glob, i);
    if (close < 0) continue;
    const head = glob.slice(0, i);
    const tail = glob.slice(close + 1);
    for (const alt of splitAlternatives(glob.slice(i + 1, close))) expandBraces(head + alt + tail, out);
    return;
  }
  if (out.length >= MAX_ALTERNATIVES) {
    throw new CustosError('ERR_POLICY_BUNDLE_INVALID', 'A path glob expands to too many alternatives.');
  }
  out.push(glob); // escapes stay for tokenize()
}

function tokenize(segment: string, nocase: boolean): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '\\' && i + 1 < segment.length) {
      const lit = segment[++i]!;
      tokens.push({ kind: 'lit', ch: nocase ? lit.toLowerCase() : lit });
    } else if (c === '*') {
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'any' });
    else tokens.push({ kind: 'lit', ch: nocase ? c.toLowerCase() : c });
  }
  return tokens;
}

function toSegments(glob: string, nocase: boolean): Segment[] {
  const segments: Segment[] = [];
  for (const part of glob.split('/')) {
    if (/^\*\*+$/.test(part)) {
      if (segments[segments.length - 1] !== 'globstar') segments.push('globstar');
    } else segments.push(tokenize(part, nocase));
  }
  return segments;
}

/** Wildcard match of one segment: `*` and `?` never see a `/`. Linear backtracking, O(n·m) worst case. */
function matchSegment(tokens: readonly Token[], s: string): boolean {
  let t = 0;
  let i = 0;
  let starT = -1;
  let starI = 0;
  while (i < s.length) {
    const tok = tokens[t];
    if (tok && (tok.kind === 'any' || (tok.kind === 'lit' && tok.ch === s[i]))) {
      t++;
      i++;
    } else if (tok?.kind === 'star') {
      starT = t++;
      starI = i;
    } else if (starT >= 0) {
      t = starT + 1;
      i = ++starI;
    } else return false;
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}

/** Does the segment list match the path segments? Table from the end: O(globSegments × pathSegments). */
function matchSegments(glob: readonly Segment[], path: readonly string[]): boolean {
  const n = path.length;
  let next: boolean[] = new Array<boolean>(n + 1).fill(false);
  next[n] = true;
  for (let g = glob.length - 1; g >= 0; g--) {
    const seg = glob[g]!;
    const cur: boolean[] = new Array<boolean>(n + 1).fill(false);
    for (let p = n; p >= 0; p--) {
      if (seg === 'globstar') cur[p] = next[p]! || (p < n && cur[p + 1]!);
      else cur[p] = p < n && next[p + 1]! && matchSegment(seg, path[p]!);
    }
    next = cur;
  }
  return next[0]!;
}

/** Compiles a glob (cached). Throws ERR_POLICY_BUNDLE_INVALID when braces expand past 256 alternatives. */
export function compileGlob(glob: string, options?: GlobOptions): CompiledGlob {
  const nocase = options?.nocase ?? false;
  const cacheKey = `${nocase ? 'i' : 's'}:${glob}`;
  let compiled = cache.get(cacheKey);
  if (!compiled) {
    const expanded: string[] = [];
    expandBraces(glob, expanded);
    compiled = { alternatives: expanded.map((g) => toSegments(g, nocase)), nocase };
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(cacheKey, compiled);
  }
  return compiled;
}

/** Does `path` (already normalised, POSIX separators) match `glob` as a whole? */
export function matchGlob(glob: string, path: string, options?: GlobOptions): boolean {
  const compiled = compileGlob(glob, options);
  const segments = (compiled.nocase ? path.toLowerCase() : path).split('/');
  return compiled.alternatives.some((alt) => matchSegments(alt, segments));
}
