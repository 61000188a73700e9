/**
 * The tool catalog (`catalog.yaml`): how tools are classified (reads_phi, writes,
 * destructive, egress, read…) and which paths carry which data class.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ToolClassification, ToolRef } from '../kernel/index.js';
import { redactionSchema } from './redaction.js';
import { tenancySchema } from './tenancy.js';
import type { ToolCatalog } from './types.js';

const CLASS_NAME = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case');
const TOOL_KEY = z.string().regex(/^[^/*\s]+\/[^/\s]+$/, 'must be "server/name" (`*` allowed in the name)');

const classesSchema = z.strictObject({ classes: z.array(CLASS_NAME) });
/** A tool entry: its classes, and `failOpen` (exact `server/name` keys only): the SDK may run it, journaled, while Custos is unreachable. */
const toolEntrySchema = z.strictObject({ classes: z.array(CLASS_NAME), failOpen: z.boolean().optional() });

const catalogSchema = z.strictObject({
  tools: z
    .record(TOOL_KEY, toolEntrySchema)
    .default({})
    .superRefine((tools, ctx) => {
      for (const [key, entry] of Object.entries(tools)) {
        if (entry.failOpen && key.includes('*'))
          ctx.addIssue({ code: 'custom', path: [key, 'failOpen'], message: 'failOpen needs an exact "server/name" key, not a glob' });
      }
    }),
  defaults: classesSchema.default({ classes: [] }),
  classification: z.array(z.strictObject({ dataClass: CLASS_NAME, paths: z.array(z.string().min(1)).min(1) })).default([]),
  tenancy: tenancySchema.optional(),
  redaction: redactionSchema.optional(),
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

/** The `server/name` keys the catalog declares `failOpen: true`, sorted. */
export function listFailOpenTools(catalog: ToolCatalog): string[] {
  return Object.entries(catalog.tools)
    .filter(([, entry]) => entry.failOpen === true)
    .map(([key]) => key)
    .sort();
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]*')}$`);
}

/**
 * Classifies tools: an exact `server/name` entry wins; otherwise the union of the
 * classes of every matching glob entry; otherwise `defaults`.
 */
export function createToolClassifier(catalog: ToolCatalog): (tool: ToolRef) => ToolClassification {
  const exact = new Map<string, readonly string[]>();
  const globs: { re: RegExp; classes: readonly string[] }[] = [];
  for (const [key, entry] of Object.entries(catalog.tools)) {
    if (key.includes('*')) globs.push({ re: globToRegExp(key), classes: entry.classes });
    else exact.set(key, entry.classes);
  }
  const defaults = Object.freeze([...new Set(catalog.defaults.classes)].sort());
  return (tool) => {
    const key = `${tool.server}/${tool.name}`;
    const direct = exact.get(key);
    if (direct) return { classes: [...new Set(direct)].sort() };
    const matched = globs.filter((g) => g.re.test(key)).flatMap((g) => g.classes);
    if (matched.length > 0) return { classes: [...new Set(matched)].sort() };
    return { classes: defaults };
  };
}
