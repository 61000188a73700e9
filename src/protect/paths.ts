/** Finding the paths a call touches in its arguments, and putting them in one POSIX form. */

/** Argument names that hold a path, a list of paths or a URI (compared case-insensitively). */
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

/** How deep into nested objects and arrays the argument walk goes. */
const MAX_DEPTH = 4;
const MAX_PATHS = 1000;
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

function collect(value: unknown, depth: number, underPathKey: boolean, out: string[]): void {
  if (out.length >= MAX_PATHS || depth > MAX_DEPTH) return;
  if (typeof value === 'string') {
    if (underPathKey && value.trim() !== '') out.push(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(item, depth + 1, underPathKey, out);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) collect(v, depth + 1, PATH_KEYS.has(k.toLowerCase()), out);
  }
}

/** Raw path-like strings found under path-like argument names (nested objects and arrays included). */
export function extractPaths(args: unknown): string[] {
  const out: string[] = [];
  collect(args, 0, false, out);
  return out;
}
