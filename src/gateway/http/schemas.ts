/**
 * Request bodies of the decision API (zod 4). Strict: an unknown field is a 400, never ignored
 * (a misspelt `argumnts` must not be evaluated as no arguments). Versioned additions are
 * announced in docs/api.md.
 */
import { z } from 'zod';
import { CustosError, TIERS } from '../../kernel/index.js';

const RequestId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');
const Label = z.string().min(1).max(256);

export const AuthorizeRequest = z.strictObject({
  tool: z.strictObject({
    server: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ -'),
    name: Label,
  }),
  arguments: z.record(z.string(), z.unknown()).default({}),
  agent: z.strictObject({
    name: Label,
    runtime: Label.optional(),
    version: Label.optional(),
    tier: z.enum(TIERS).optional(),
  }),
  request_id: RequestId.optional(),
});
export type AuthorizeRequest = z.infer<typeof AuthorizeRequest>;

export const ResultsRequest = z
  .strictObject({
    request_id: RequestId,
    output: z.unknown().optional(),
    error: z.string().max(512).optional(),
  })
  .refine((body) => body.output !== undefined || body.error !== undefined, { message: 'output or error is required', path: ['output'] });
export type ResultsRequest = z.infer<typeof ResultsRequest>;

export const ConfirmationRequest = z.strictObject({
  request_id: RequestId,
  outcome: z.enum(['accepted', 'declined']),
});

/** Parses or throws ERR_GATEWAY_BAD_REQUEST listing every problem (paths and rules, never values). */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`);
  throw new CustosError('ERR_GATEWAY_BAD_REQUEST', 'The request body is invalid.', { detail: { problems } });
}
