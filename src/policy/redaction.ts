/**
 * The optional `redaction:` section of catalog.yaml: which detectors run for which calls,
 * custom patterns and allow-listed values. Part of the bundle, so the bundle hash covers it.
 *
 *   redaction:
 *     detectors: [all]                       # ids or types on by default (default: all)
 *     allow: ["(555) 010-0000"]              # values never redacted (exact, trimmed)
 *     patterns:                              # bounded regular expressions; rule id custom:ID
 *       - { id: ticket-id, type: ticket, pattern: "TCK-[0-9]{6}" }
 *     rules:                                 # in order; later rules win
 *       - { tools: ["filesystem/read_*"], destinations: [agent], disable: [ip] }
 *
 * The shape is checked here; detector names and pattern safety are checked by the protector
 * when the bundle is loaded (src/app), and every problem is reported.
 */
import { z } from 'zod';
import { REDACTION_DESTINATIONS } from '../kernel/index.js';
import type { RedactionPolicy } from '../kernel/index.js';

const NAME = z.string().min(1).max(64);
const TOOL_GLOB = z.string().regex(/^[^/*\s]+\/[^/\s]+$/, 'must be "server/name" (`*` allowed in the name)');

export const redactionSchema = z.strictObject({
  detectors: z.array(NAME).default(['all']),
  allow: z.array(z.string().min(1).max(1024)).max(1000).default([]),
  patterns: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be kebab-case'),
        type: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case'),
        pattern: z.string().min(1).max(512),
        ignoreCase: z.boolean().optional(),
      }),
    )
    .max(200)
    .default([]),
  rules: z
    .array(
      z.strictObject({
        tools: z.array(TOOL_GLOB).min(1).optional(),
        tiers: z.array(NAME).min(1).optional(),
        destinations: z.array(z.enum(REDACTION_DESTINATIONS)).min(1).optional(),
        enable: z.array(NAME).optional(),
        disable: z.array(NAME).optional(),
      }),
    )
    .default([]),
});

export function toRedactionPolicy(section: z.infer<typeof redactionSchema> | undefined): RedactionPolicy | undefined {
  if (!section) return undefined;
  return Object.freeze({
    detectors: Object.freeze([...section.detectors]),
    allow: Object.freeze([...section.allow]),
    patterns: Object.freeze(section.patterns.map((p) => Object.freeze({ ...p }))),
    rules: Object.freeze(section.rules.map((r) => Object.freeze({ ...r }))),
  });
}
