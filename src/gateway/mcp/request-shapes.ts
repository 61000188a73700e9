/**
 * A request of a method MCP defines whose shape its schema refuses (no `params`, a `name` that
 * is not a string, a log level that is no level) is the client's mistake: it is answered -32602
 * (invalid params) before the SDK's Server sees it. The Server parses a request inside its
 * request machinery and answers a failed parse -32603 (internal error), which for bad input is
 * neither true nor clear. Methods MCP does not define are left to the Server (-32601).
 */
import { ClientRequestSchema, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCErrorResponse, JSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';

/** The SDK's schema of each client request, by method. */
const SCHEMAS = new Map(ClientRequestSchema.options.map((schema) => [schema.shape.method.value as string, schema]));

/** At most this much of the refused field's path is named (it is the schema's path, never a value). */
const MAX_PATH = 80;

/** The -32602 answer to `request` when its method is one MCP defines and its shape does not match; undefined otherwise. */
export function refuseMalformedRequest(request: JSONRPCRequest): JSONRPCErrorResponse | undefined {
  const schema = SCHEMAS.get(request.method);
  if (schema === undefined) return undefined;
  const parsed = schema.safeParse(request);
  if (parsed.success) return undefined;
  const where = (parsed.error.issues[0]?.path ?? []).map(String).join('.').slice(0, MAX_PATH) || 'the request';
  return {
    jsonrpc: '2.0',
    id: request.id,
    error: { code: ErrorCode.InvalidParams, message: `Invalid ${request.method} request: ${where} does not match the MCP schema.` },
  };
}
