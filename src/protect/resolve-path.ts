/**
 * Where a path a call names really leads: relative paths resolved against the upstream's root,
 * `.` and `..` folded, then symlinks followed on disk (`realpath`). A path that does not exist
 * yet resolves through its deepest existing ancestor, so `link-dir/new-file` still counts as
 * inside the link's target. Classification looks at both the path as written and where it leads.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { normalisePath } from './paths.js';

const MAX_PATH = 4096;

/** The real path of `p`, or of its deepest existing ancestor with the rest appended; undefined when nothing resolves. */
function realpathOfExisting(p: string): string | undefined {
  const segments: string[] = [];
  let current = p;
  for (let i = 0; i < 256; i++) {
    try {
      const real = realpathSync.native(current);
      return segments.length === 0 ? real : join(real, ...segments.reverse());
    } catch {
      const cut = current.lastIndexOf('/');
      if (cut <= 0) return undefined;
      segments.push(current.slice(cut + 1));
      current = current.slice(0, cut);
    }
  }
  return undefined;
}

/**
 * The paths to classify for one raw path or URI: its normalised form, and (for local paths)
 * where it leads after symlinks. `root` is the upstream's first root directory.
 */
export function resolveCallPath(raw: string, root?: string): string[] {
  const lexical = normalisePath(raw);
  if (lexical.length > MAX_PATH || (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw) && !/^file:/i.test(raw))) return [lexical];
  const absolute = isAbsolute(lexical) ? lexical : root ? normalisePath(join(root, lexical)) : undefined;
  if (!absolute) return [lexical];
  const real = realpathOfExisting(absolute);
  return [...new Set([lexical, absolute, ...(real ? [normalisePath(real)] : [])])];
}
