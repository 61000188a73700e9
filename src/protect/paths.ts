/** Finding the paths a call touches in its arguments, and putting them in one POSIX form. */
import { CustosError } from '../kernel/index.js';

/**
 * Argument names that hold a path, a list of paths or a URI (compared case-insensitively).
 * They add meaning (a value under them is always a path), never coverage: every string is looked at.
 */
const PATH_KEYS = new Set([
  'path',
  'paths',
  'source',
  'destination',
  'file',
  'files',
  'filename',
  'filepath',
  'file_path',
  'uri',
  'uris',
  'root',
  'roots',
  'directory',
  'dir',
]);

/**
 * The classifier's own budget. The door's limits (src/kernel/limits.ts) already bound what
 * reaches it; these hold when it is called directly. Past any of them the walk throws
 * ERR_INPUT_TOO_COMPLEX naming the limit, and the pipeline denies the call.
 */
export const PATH_LIMITS = Object.freeze({
  /** Most values (objects, arrays, scalars) walked in one call's arguments. */
  maxValues: 2_000_000,
  /** Longest normalised path (Linux PATH_MAX): a longer string cannot be opened as a path. */
  maxPathLength: 4096,
  /** Most segment-suffix steps for the whole call (each path of n segments costs n(n+1)/2). */
  maxSuffixWork: 4_000_000,
});

const LINE_BREAK = /[\r\n]/;
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
function decodeSafely(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The path part of a URI. `file:///a/b` and `file://localhost/a/b` give `/a/b` (percent-decoded);
 * other schemes (`repo://phi/x`, `s3://bucket/k`) give `authority/path`, so suffix globs still apply.
 */
export function pathFromUri(uri: string): string {
  const rest = uri.replace(URI_SCHEME, '').replace(/[?#].*$/, '');
  if (/^file:/i.test(uri)) {
    const withoutHost = rest.replace(/^(?:localhost)?(?=\/)/i, '');
    return decodeSafely(withoutHost.startsWith('/') ? withoutHost : `//${withoutHost}`);
  }
  return decodeSafely(rest);
}

/**
 * POSIX form with `.` and `..` resolved: backslashes become `/`, repeated and trailing
 * slashes go, a URI becomes its path. `..` above the root of an absolute path is dropped;
 * leading `..` of a relative path is kept.
 */
export function normalisePath(input: string): string {
  let p = URI_SCHEME.test(input) ? pathFromUri(input) : input;
  p = p.replace(/\\/g, '/');
  const absolute = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  return absolute ? `/${joined}` : joined || '.';
}

function tooComplex(limit: keyof typeof PATH_LIMITS): CustosError {
  return new CustosError('ERR_INPUT_TOO_COMPLEX', `The arguments exceed the classifier's ${limit} limit (${PATH_LIMITS[limit]}).`, {
    detail: { limit, max: PATH_LIMITS[limit] },
  });
}

/** Every string value of `value`, at any depth, with whether an ancestor key is path-like. Iterative. */
export function walkStrings(value: unknown, visit: (s: string, underPathKey: boolean) => void): void {
  const stack: Array<{ value: unknown; underPathKey: boolean }> = [{ value, underPathKey: false }];
  let seen = 0;
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; underPathKey: boolean };
    if (++seen > PATH_LIMITS.maxValues) throw tooComplex('maxValues');
    const v = item.value;
    if (typeof v === 'string') visit(v, item.underPathKey);
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], underPathKey: item.underPathKey });
    else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) stack.push({ value: child, underPathKey: item.underPathKey || PATH_KEYS.has(k.toLowerCase()) });
    }
  }
}

/**
 * The normalised paths a call's arguments may name: every string value at any depth, under
 * any key. A string under a path-like key (`path`, `paths`, `uri`…) is always a path; any
 * other string is one unless it cannot be opened as a path (a line break, or longer than
 * PATH_MAX once normalised). A path past the classifier's limits throws ERR_INPUT_TOO_COMPLEX:
 * the call is denied rather than classified in part.
 */
export function extractPaths(args: unknown): string[] {
  const out: string[] = [];
  let work = 0;
  walkStrings(args, (raw, underPathKey) => {
    if (raw.trim() === '') return;
    if (!underPathKey && LINE_BREAK.test(raw)) return;
    const path = normalisePath(raw);
    if (path.length > PATH_LIMITS.maxPathLength) {
      if (underPathKey) throw tooComplex('maxPathLength');
      return;
    }
    const segments = path.split('/').length;
    work += (segments * (segments + 1)) / 2;
    if (work > PATH_LIMITS.maxSuffixWork) throw tooComplex('maxSuffixWork');
    out.push(path);
  });
  return out;
}
