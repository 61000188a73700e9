/**
 * A small glob matcher over POSIX paths: `**` (any number of segments, including none),
 * `*` (any characters but `/`), `?` (one character but `/`), `{a,b}` (alternatives, may
 * nest), `\x` (a literal x). Everything else is literal; `*` and `**` match dot-files too.
 * `dir/**` also matches `dir` itself.
 */

export interface GlobOptions {
  /** Case-insensitive matching. */
  readonly nocase?: boolean;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;
const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 1000;

function escapeLiteral(ch: string): string {
  return ch.replace(REGEX_SPECIAL, '\\$&');
}

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

function translateStar(glob: string, i: number): { source: string; next: number } {
  if (glob[i + 1] !== '*') return { source: '[^/]*', next: i + 1 };
  let end = i;
  while (glob[end] === '*') end++;
  const segmentStart = i === 0 || glob[i - 1] === '/';
  const segmentEnd = end === glob.length || glob[end] === '/';
  if (!segmentStart || !segmentEnd) return { source: '[^/]*', next: end };
  if (end === glob.length) return { source: '.*', next: end };
  return { source: '(?:[^/]*/)*', next: end + 1 }; // `**/`: zero or more directories
}

function translate(glob: string): string {
  let out = '';
  let i = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) {
      out += escapeLiteral(glob[i + 1]!);
      i += 2;
    } else if (c === '/' && glob.slice(i + 1) === '**') {
      out += '(?:/.*)?'; // `dir/**` matches `dir` and everything under it
      i = glob.length;
    } else if (c === '*') {
      const t = translateStar(glob, i);
      out += t.source;
      i = t.next;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '{' && findClose(glob, i) > i) {
      const close = findClose(glob, i);
      out += `(?:${splitAlternatives(glob.slice(i + 1, close)).map(translate).join('|')})`;
      i = close + 1;
    } else {
      out += escapeLiteral(c);
      i++;
    }
  }
  return out;
}

/** Compiles a glob to an anchored regular expression (cached). */
export function compileGlob(glob: string, options?: GlobOptions): RegExp {
  const flags = options?.nocase ? 'i' : '';
  const cacheKey = `${flags}:${glob}`;
  let re = cache.get(cacheKey);
  if (!re) {
    re = new RegExp(`^${translate(glob)}$`, flags);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(cacheKey, re);
  }
  return re;
}

/** Does `path` (already normalised, POSIX separators) match `glob` as a whole? */
export function matchGlob(glob: string, path: string, options?: GlobOptions): boolean {
  return compileGlob(glob, options).test(path);
}
