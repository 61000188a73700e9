/**
 * The tool catalog (`catalog.yaml`): how tools are classified (reads_phi, writes,
 * destructive, egress, read…), which of their arguments name destinations (`urls`, `hosts`),
 * which paths carry which data class, and where data may go (`egress`).
 */
import { z } from 'zod';
import type { ToolClassification, ToolRef } from '../kernel/index.js';
import { egressSchema } from './egress.js';
import { redactionSchema } from './redaction.js';
import { tenancySchema } from './tenancy.js';
import type { ToolCatalog, ToolEntry } from './types.js';
import { parseYamlFile } from './yaml-check.js';

const CLASS_NAME = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case');
const TOOL_KEY = z.string().regex(/^[^/*\s]+\/[^/\s]+$/, 'must be "server/name" (`*` allowed in the name)');

const SCOPE = z.string().regex(/^[A-Za-z0-9_.:/-]+$/, 'must be an OAuth scope token');
const ARG_NAME = z.string().min(1).max(128);

const classesSchema = z.strictObject({ classes: z.array(CLASS_NAME) });
/** A tool entry: its classes, and `failOpen` (exact `server/name` keys only): the SDK may run it, journaled, while Custos is unreachable. */

/** One tool entry: its classes and what else the bundle says about it (docs/policy-bundles.md). */
const toolSchema = z.strictObject({
  classes: z.array(CLASS_NAME),
  /** OAuth scopes the call needs: required ⊆ user scopes ∩ delegated scopes. */
  scopes: z.array(SCOPE).optional(),
  /** May run through the SDK while the control plane is unreachable (journaled locally); default false. */
  failOpen: z.boolean().optional(),
  /** Argument names that hold paths, and URLs. */
  paths: z.array(ARG_NAME).optional(),
  urls: z.array(ARG_NAME).optional(),
  /** Argument names that hold hosts the call sends data to. */
  hosts: z.array(ARG_NAME).optional(),
  /** How to read a write's target before the write: another tool of the same server, an argument mapping (target ← source), and the data classes it applies to. */
  before: z
    .strictObject({
      tool: z.string().regex(/^[^/*\s]+\/[^/*\s]+$/, 'must be "server/name" (no `*`)'),
      arguments: z.record(ARG_NAME, ARG_NAME),
      dataClasses: z.array(CLASS_NAME).min(1).optional(),
    })
    .optional(),
});

const catalogSchema = z.strictObject({
  tools: z
    .record(TOOL_KEY, toolSchema)
    .default({})
    .superRefine((tools, ctx) => {
      for (const [key, entry] of Object.entries(tools)) {
        if (entry.failOpen && key.includes('*'))
          ctx.addIssue({ code: 'custom', path: [key, 'failOpen'], message: 'failOpen needs an exact "server/name" key, not a glob' });
        if (entry.before && entry.before.tool.split('/')[0] !== key.split('/')[0])
          ctx.addIssue({ code: 'custom', path: [key, 'before', 'tool'], message: 'before.tool must be a tool of the same server' });
      }
    }),
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

/** Parses and validates `catalog.yaml`; every problem is reported with its file, line and column. */
export function parseCatalog(text: string, file = 'catalog.yaml'): CatalogParse {
  const { value, problems } = parseYamlFile(text, file, catalogSchema);
  return { catalog: value, problems };
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

/** The catalog entries that apply to a tool: the exact one, else every matching glob. */
export function createToolLookup(catalog: ToolCatalog): (tool: ToolRef) => readonly ToolEntry[] {
  const entries = Object.entries(catalog.tools).map(([key, entry]) => ({ key, entry, re: key.includes('*') ? globToRegExp(key) : null }));
  return (tool) => {
    const key = `${tool.server}/${tool.name}`;
    const exact = entries.find((e) => e.re === null && e.key === key);
    if (exact) return [exact.entry];
    return entries.filter((e) => e.re?.test(key)).map((e) => e.entry);
  };
}
