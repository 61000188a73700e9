/**
 * A tool's definition as the drift check sees it: what an agent's model reads and relies on
 * (title, description, input and output schema, annotations), hashed canonically (RFC 8785,
 * SHA-256). The name is the key, not part of the hash; `_meta` is left out (it may carry
 * per-listing noise).
 */
import { createHash } from 'node:crypto';
import { canonicalize } from '../kernel/index.js';
import type { McpTool } from '../kernel/index.js';
import type { DefinitionDiff } from './types.js';

const FIELDS = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

export function definitionOf(tool: McpTool): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of FIELDS) if (tool[field] !== undefined) out[field] = tool[field];
  return out;
}

export function hashDefinition(definition: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalize(definition)).digest('hex');
}

/** The fields that differ between two definitions, each with both values. */
export function diffDefinitions(approved: unknown, current: unknown): DefinitionDiff[] {
  const a = (approved ?? {}) as Record<string, unknown>;
  const c = (current ?? {}) as Record<string, unknown>;
  return FIELDS.filter((f) => canonicalize(a[f] ?? null) !== canonicalize(c[f] ?? null)).map((field) => ({
    field,
    approved: a[field] ?? null,
    current: c[field] ?? null,
  }));
}
