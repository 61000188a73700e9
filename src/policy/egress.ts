/**
 * The `egress:` section of catalog.yaml: where the data of a call may go.
 *
 *   egress:
 *     allow:
 *       - hosts: [api.example.com, "*.example.org"]   # exact names, or `*.` for any subdomain
 *         schemes: [https]                             # default [https]
 *         ports: [443]                                 # default: the scheme's port
 *       - hosts: [wiki.internal]
 *         allowPrivate: true                           # may resolve to a private address
 *
 * Tools name destinations through the catalog (`urls:`/`hosts:` argument marks, or the class
 * `egress`); the pipeline's egress stage checks each against this list.
 */
import { z } from 'zod';
import type { EgressRules } from '../kernel/index.js';

const hostPattern = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$|^\[[0-9a-f:.]+\]$/i, 'must be a host name, `*.domain`, an IPv4 address or a bracketed IPv6 address');

export const egressSchema = z.strictObject({
  allow: z
    .array(
      z.strictObject({
        hosts: z.array(hostPattern).min(1),
        schemes: z
          .array(z.string().regex(/^[a-z][a-z0-9+.-]*$/, 'must be a lowercase URL scheme'))
          .min(1)
          .default(['https']),
        ports: z.array(z.number().int().min(1).max(65535)).min(1).optional(),
        allowPrivate: z.boolean().default(false),
      }),
    )
    .default([]),
});

/** The rules the pipeline uses, frozen (host patterns lowercased); undefined when the bundle has no egress section. */
export function toEgressRules(section: z.infer<typeof egressSchema> | undefined): EgressRules | undefined {
  if (!section) return undefined;
  return Object.freeze({
    allow: Object.freeze(
      section.allow.map((r) =>
        Object.freeze({
          hosts: Object.freeze(r.hosts.map((h) => h.toLowerCase())),
          schemes: Object.freeze([...r.schemes]),
          ...(r.ports ? { ports: Object.freeze([...r.ports]) } : {}),
          allowPrivate: r.allowPrivate,
        }),
      ),
    ),
  });
}
