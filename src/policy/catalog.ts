/**
 * The tool catalog (`catalog.yaml`): how tools are classified (reads_phi, writes,
 * destructive, egress, read…), which of their arguments name destinations (`urls`, `hosts`),
 * which paths carry which data class, and where data may go (`egress`).
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ToolClassification, ToolRef } from '../kernel/index.js';
import { egressSchema } from './egress.js';
import { redactionSchema } from './redaction.js';
import { tenancySchema } from './tenancy.js';
import type { ToolCatalog } from './types.js';

const CLASS_NAME = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case');
const TOOL_KEY = z.string().regex(/^[^/*\s]+\/[^/\s]+$/, 'must be "server/name" (`*` allowed in the name)');

const ARGUMENT_NAME = z.string().min(1).max(128);

const classesSchema = z.strictObject({ classes: z.array(CLASS_NAME) });

/** A tool entry: its classes, and the argument names (at any depth) that hold URLs or hosts the call sends data to. */
const toolSchema = z.strictObject({ classes: z.array(CLASS_NAME), urls: z.array(ARGUMENT_NAME).optional(), hosts: z.array(ARGUMENT_NAME).optional() });

const catalogSchema = z.strictObject({
  tools: z.record(TOOL_KEY, toolSchema).default({}),
  defaults: classesSchema.default({ classes: [] }),
  classification: z.array(z.strictObject({ dataClass: CLASS_NAME, paths: z.array(z.string().min(1)).min(1) })).default([]),
  tenancy: tenancySchema.optional(),
  redaction: redactionSchema.optional(),
  egress: egressSchema.optional(),
});

export interface CatalogParse {
  readonly catalog: ToolCatalog | null;
  readonly problems: readonly string[];
}

/** Parses and validates `catalog.yaml`; every problem is reported, prefixed with `file`. */
export function parseCatalog(text: string, file = 'catalog.yaml'): CatalogParse {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : 'not valid YAML';
    return { catalog: null, problems: [`${file}: YAML error: ${msg}`] };
  }
  const result = catalogSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
      const inner = issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join(', ') : '';
      return `${file}: ${where}: ${inner ? `key ${inner}` : issue.message}`;
    });
    return { catalog: null, problems };
  }
  return { catalog: result.data, problems: [] };
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]*')}$`);
}

type ToolEntry = ToolCatalog['tools'][string];

const sortedUnion = (lists: ReadonlyArray<readonly string[] | undefined>): string[] => [...new Set(lists.flatMap((l) => l ?? []))].sort();

/** The classification of the entries that matched: classes, and the `urls`/`hosts` marks when any entry has them. */
function classificationOf(entries: readonly ToolEntry[]): ToolClassification {
  const urls = sortedUnion(entries.map((e) => e.urls));
  const hosts = sortedUnion(entries.map((e) => e.hosts));
  return { classes: sortedUnion(entries.map((e) => e.classes)), ...(urls.length ? { urls } : {}), ...(hosts.length ? { hosts } : {}) };
}

/**
 * Classifies tools: an exact `server/name` entry wins; otherwise the union of the
 * classes (and argument marks) of every matching glob entry; otherwise `defaults`.
 */
export function createToolClassifier(catalog: ToolCatalog): (tool: ToolRef) => ToolClassification {
  const exact = new Map<string, ToolEntry>();
  const globs: { re: RegExp; entry: ToolEntry }[] = [];
  for (const [key, entry] of Object.entries(catalog.tools)) {
    if (key.includes('*')) globs.push({ re: globToRegExp(key), entry });
    else exact.set(key, entry);
  }
  const defaults = Object.freeze([...new Set(catalog.defaults.classes)].sort());
  return (tool) => {
    const key = `${tool.server}/${tool.name}`;
    const direct = exact.get(key);
    if (direct) return classificationOf([direct]);
    const matched = globs.filter((g) => g.re.test(key)).map((g) => g.entry);
    if (matched.length > 0) return classificationOf(matched);
    return { classes: defaults };
  };
}
