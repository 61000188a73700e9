/**
 * One SDK Server per MCP session. tools/list shows the upstream tools the policy lets this
 * principal see; tools/call turns the request into a ToolCall and runs the pipeline.
 * The principal of each request comes from the HTTP layer (authInfo.extra), verified anew
 * on every request.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../../kernel/index.js';
import type { IdSource, Pipeline, PolicySource, Principal, RunResult, ToolCall } from '../../kernel/index.js';
import { toJsonRpcError } from '../errors.js';
import type { DeriveAgent, DerivedAgent, Logger, UpstreamPool } from '../types.js';
import { namespaceToolName, parseToolName } from './tool-names.js';

/** What the HTTP layer attaches to each MCP request (as authInfo.extra). */
export interface RequestContext {
  readonly principal: Principal;
  readonly declaredTier?: string;
  readonly traceId?: string;
}

export interface SessionServerDeps {
  readonly pipeline: Pipeline;
  readonly policy: PolicySource;
  readonly upstreams: UpstreamPool;
  readonly deriveAgent: DeriveAgent;
  readonly ids: IdSource;
  readonly logger: Logger;
}

export const SERVER_INFO = { name: 'custos', version: '0.1.0' };
export const REQUEST_ID_META = 'io.custos/request_id';
const TIER_MISMATCH = 'tier_mismatch';

/** A JSON-RPC error from the one error table; internal causes are logged, never sent. */
export function toMcpError(err: unknown, logger: Logger): McpError {
  const rpc = toJsonRpcError(err);
  if (rpc.data.code === 'ERR_INTERNAL') logger.error({ err: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }, 'MCP request failed');
  return new McpError(rpc.code, rpc.message, rpc.data);
}

function contextOf(extra: { authInfo?: { extra?: Record<string, unknown> } }): RequestContext {
  const ctx = extra.authInfo?.extra?.custos as RequestContext | undefined;
  // The HTTP layer authenticates every request; reaching here without a principal is a bug.
  if (!ctx?.principal) throw new CustosError('ERR_IDENTITY_TOKEN_MISSING');
  return ctx;
}

function errorResult(text: string, requestId: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }], _meta: { [REQUEST_ID_META]: requestId } };
}

/** Translates the pipeline's outcome back into a CallToolResult. */
export function toCallToolResult(result: RunResult): CallToolResult {
  const { decision, call } = result.authorization;
  const reasons = decision.reasons.length > 0 ? decision.reasons.join(', ') : 'no reason given';
  if (!result.forwarded) {
    return decision.decision === 'confirm'
      ? errorResult(`Confirmation required by policy before this call (${reasons}). Confirmations are not available on this endpoint yet.`, call.requestId)
      : errorResult(`Denied by policy: ${reasons}`, call.requestId);
  }
  if (result.failed) {
    const code = result.completion.record.output?.error ?? 'ERR_GATEWAY_UPSTREAM_FAILED';
    return errorResult(`Upstream call failed: ${code}`, call.requestId);
  }
  const redacted = result.completion.output.value;
  if (!redacted || typeof redacted !== 'object' || !Array.isArray((redacted as { content?: unknown }).content)) {
    return errorResult('Upstream result could not be processed: ERR_PROTECT_FAILED', call.requestId);
  }
  const value = redacted as CallToolResult;
  return { ...value, _meta: { ...value._meta, [REQUEST_ID_META]: call.requestId } };
}

export function createSessionServer(deps: SessionServerDeps): Server {
  const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: true } } });

  function deriveFor(ctx: RequestContext): DerivedAgent {
    const client = server.getClientVersion();
    return deps.deriveAgent(ctx.principal, { name: client?.name ?? 'unknown', version: client?.version, tier: ctx.declaredTier });
  }

  function listVisibleTools(ctx: RequestContext): Tool[] {
    const { agent, tierMismatch } = deriveFor(ctx);
    if (tierMismatch) return [];
    const policy = deps.policy.current();
    return deps.upstreams.listTools().flatMap(({ server: upstream, tool }) => {
      const ref = { server: upstream, name: tool.name };
      try {
        const toolClasses = policy.classifyTool(ref).classes;
        const d = policy.decide({ action: 'list_tool', principal: ctx.principal, agent, tool: ref, toolClasses, dataClasses: [] });
        return d.decision === 'deny' ? [] : [{ ...tool, name: namespaceToolName(upstream, tool.name) }];
      } catch {
        return []; // fail closed: a tool the policy cannot judge is not shown
      }
    });
  }

  async function callTool(name: string, args: Record<string, unknown> | undefined, ctx: RequestContext, signal: AbortSignal): Promise<CallToolResult> {
    const ref = parseToolName(name);
    if (!deps.upstreams.has(ref.server)) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No upstream server has this name.');
    const { agent, tierMismatch } = deriveFor(ctx);
    const call: ToolCall = { requestId: deps.ids.newId(), kind: 'tool', tool: ref, arguments: args ?? {}, principal: ctx.principal, agent, traceId: ctx.traceId };
    if (tierMismatch) {
      deps.logger.warn({ request_id: call.requestId, sub: ctx.principal.sub, agent: agent.name }, 'declared agent tier disagrees with the credential');
      await deps.pipeline.authorize(call, { deny: [TIER_MISMATCH] });
      await deps.pipeline.recordAlert({ type: TIER_MISMATCH, severity: 'high', call, detail: { declared_tier: ctx.declaredTier ?? null, derived_tier: agent.tier } });
      return errorResult(`Denied by policy: ${TIER_MISMATCH}`, call.requestId);
    }
    const result = await deps.pipeline.run(call, () => deps.upstreams.callTool(ref.server, ref.name, args, { signal }));
    return toCallToolResult(result);
  }

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    try {
      return { tools: listVisibleTools(contextOf(extra)) };
    } catch (err) {
      throw toMcpError(err, deps.logger);
    }
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    try {
      return await callTool(request.params.name, request.params.arguments, contextOf(extra), extra.signal);
    } catch (err) {
      throw toMcpError(err, deps.logger);
    }
  });

  return server;
}
