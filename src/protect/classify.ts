/**
 * File-read classification: which data classes do the paths a call touches carry?
 * Built in: `secret_file` (.env, keys, cloud and registry credentials). From the bundle:
 * `ClassificationRule`s, globs matched against the normalised path and every suffix of it.
 * Matching ignores case, so `PHI/x` cannot slip past a `phi/**` rule on a case-insensitive disk.
 */
import type { ClassificationRule, ToolCall } from '../kernel/index.js';
import { matchGlob } from './glob.js';
import { extractPaths, normalisePath } from './paths.js';

export const SECRET_FILE = 'secret_file';

const SECRET_BASENAMES = new Set([
  '.env',
  '.npmrc',
  '.pypirc',
  '.netrc',
  '_netrc',
  '.pgpass',
  '.git-credentials',
  'credentials.json',
  'kubeconfig',
]);
const ENV_TEMPLATES = new Set(['.env.example', '.env.sample', '.env.template', '.env.dist']);
const SECRET_EXTENSIONS = ['.pem', '.key', '.p12', '.pfx'];
const SSH_KEY = /^id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?(?!.*\.pub$)/;
const SECRET_SUFFIXES = ['.aws/credentials', '.docker/config.json', '.kube/config'];

/** Is this normalised path a file that holds secrets by its nature? */
export function isSecretFile(path: string): boolean {
  const lower = path.toLowerCase();
  const base = lower.slice(lower.lastIndexOf('/') + 1);
  if (SECRET_BASENAMES.has(base)) return true;
  if (base.startsWith('.env.') && !ENV_TEMPLATES.has(base)) return true;
  if (SECRET_EXTENSIONS.some((ext) => base.endsWith(ext))) return true;
  if (SSH_KEY.test(base)) return true;
  return SECRET_SUFFIXES.some((suffix) => lower === suffix || lower.endsWith(`/${suffix}`));
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

/** Sorted, unique data classes of paths already in normalised form. */
function classifyNormalised(paths: readonly string[], rules: readonly ClassificationRule[]): string[] {
  const classes = new Set<string>();
  for (const path of new Set(paths)) {
    if (isSecretFile(path)) classes.add(SECRET_FILE);
    const candidates = candidatesOf(path);
    for (const rule of rules) {
      if (!classes.has(rule.dataClass) && matchesRule(rule, candidates)) classes.add(rule.dataClass);
    }
  }
  return [...classes].sort();
}

/** Sorted, unique data classes of the given raw paths or URIs. */
export function classifyPaths(paths: readonly string[], rules: readonly ClassificationRule[] = []): string[] {
  return classifyNormalised(paths.map(normalisePath), rules);
}

/**
 * The data classes of a call: every string in its arguments that can name a path (see
 * extractPaths), and a resource call's URI when it is the tool name. Throws
 * ERR_INPUT_TOO_COMPLEX when the arguments are past the classifier's limits.
 */
export function classifyCall(call: Pick<ToolCall, 'tool' | 'arguments' | 'kind'>, rules: readonly ClassificationRule[]): string[] {
  const paths = extractPaths(call.arguments);
  if (call.kind === 'resource' && call.tool.name.includes('://')) paths.push(normalisePath(call.tool.name));
  return classifyNormalised(paths, rules);
}
