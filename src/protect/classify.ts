/**
 * File-read classification: which data classes do the paths a call touches carry?
 * Built in: `secret_file` and a family class for 50 credential-file kinds (file-kinds.ts).
 * From the bundle: `ClassificationRule`s, globs matched against the normalised path and every
 * suffix of it. Each path is classified as written and where it leads after `..` and symlinks,
 * resolved against the upstream's root (resolve-path.ts). Matching ignores case, so `PHI/x`
 * cannot slip past a `phi/**` rule on a case-insensitive disk.
 */
import type { ClassificationRule, ToolCall } from '../kernel/index.js';
import { fileKindsOf } from './file-kinds.js';
import { matchGlob } from './glob.js';
import { remembered } from './memo.js';
import { extractPaths, normalisePath } from './paths.js';
import { resolveCallPath } from './resolve-path.js';

export const SECRET_FILE = 'secret_file';

/** Is this normalised path a file that holds secrets by its nature? */
export function isSecretFile(path: string): boolean {
  return fileKindsOf(path).length > 0;
}

/** The path and each of its segment suffixes: `/a/phi/x` → `/a/phi/x`, `a/phi/x`, `phi/x`, `x`. */
function candidatesOf(path: string): string[] {
  const segments = path.split('/').filter((s) => s !== '');
  const out = [path];
  for (let i = 0; i < segments.length; i++) out.push(segments.slice(i).join('/'));
  return out;
}

function matchesRule(rule: ClassificationRule, candidates: readonly string[]): boolean {
  return rule.paths.some((glob) => candidates.some((c) => matchGlob(glob, c, { nocase: true })));
}

/** Where paths are resolved: the upstream's root directories (the first one anchors relative paths). */
export interface ClassifyOptions {
  readonly roots?: readonly string[];
}

/** The paths to classify for one normalised path: itself, and where it leads on disk (absolute paths, or relative ones under a root). */
function expand(path: string, options: ClassifyOptions): string[] {
  if (!path.startsWith('/') && options.roots?.[0] === undefined) return [path];
  return resolveCallPath(path, options.roots?.[0]);
}

/** The data classes of one resolved path: its credential-file kinds, and each rule its path or a suffix of it matches. */
function classesOfPath(path: string, rules: readonly ClassificationRule[]): readonly string[] {
  const classes = new Set<string>();
  for (const kind of fileKindsOf(path)) {
    classes.add(SECRET_FILE);
    classes.add(kind.dataClass);
  }
  const candidates = candidatesOf(path);
  for (const rule of rules) {
    if (!classes.has(rule.dataClass) && matchesRule(rule, candidates)) classes.add(rule.dataClass);
  }
  return Object.freeze([...classes]);
}

/** `classesOfPath` worked out once per path under one bundle's rules (a bundle's rules are one frozen array). */
const byRules = new WeakMap<readonly ClassificationRule[], (path: string) => readonly string[]>();

function classesOf(path: string, rules: readonly ClassificationRule[]): readonly string[] {
  let of = byRules.get(rules);
  if (!of) {
    of = remembered((p) => classesOfPath(p, rules));
    byRules.set(rules, of);
  }
  return of(path);
}

/** Sorted, unique data classes of paths already in normalised form. Where a path leads is looked up on disk at every call. */
function classifyNormalised(paths: readonly string[], rules: readonly ClassificationRule[], options: ClassifyOptions): string[] {
  const classes = new Set<string>();
  const seen = new Set<string>();
  for (const written of new Set(paths)) {
    for (const path of expand(written, options)) {
      if (seen.has(path)) continue;
      seen.add(path);
      for (const c of classesOf(path, rules)) classes.add(c);
    }
  }
  return [...classes].sort();
}

/** Sorted, unique data classes of the given raw paths or URIs (each as written and as resolved on disk). */
export function classifyPaths(paths: readonly string[], rules: readonly ClassificationRule[] = [], options: ClassifyOptions = {}): string[] {
  return classifyNormalised(paths.map(normalisePath), rules, options);
}

/**
 * The data classes of a call: every string in its arguments that can name a path (see
 * extractPaths), and a resource call's URI when it is the tool name. Throws
 * ERR_INPUT_TOO_COMPLEX when the arguments are past the classifier's limits.
 */
export function classifyCall(
  call: Pick<ToolCall, 'tool' | 'arguments' | 'kind'>,
  rules: readonly ClassificationRule[],
  options: ClassifyOptions = {},
): string[] {
  const paths = extractPaths(call.arguments);
  if (call.kind === 'resource' && call.tool.name.includes('://')) paths.push(normalisePath(call.tool.name));
  return classifyNormalised(paths, rules, options);
}
