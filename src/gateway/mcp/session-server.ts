/**
 * One SDK Server per MCP session. Tools, resources, prompts, completions and logging are
 * proxied from every upstream, namespaced, listed only as the policy lets this principal
 * see them, and every action runs the pipeline. The principal of each request comes from
 * the HTTP layer (authInfo.extra), verified anew on every request.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { CallToolResult, Progress, Tool } from '@modelcontextprotocol/sdk/types.js';
import { ARGUMENTS_INVALID, CustosError, findLimitExceeded } from '../../kernel/index.js';
import type { DenyReason, RunResult, ToolRef } from '../../kernel/index.js';
import { createClientRelay } from './client-relay.js';
import { checkToolArguments } from './input-schemas.js';
import { CONFIRMATION_CHANNEL, DEFAULT_CONFIRMATION_TIMEOUT_MS, askConfirmation, describeConfirmationDenial } from './confirmation-prompt.js';
import { runGoverned, toToolCall } from './governed-call.js';
import type { RequestContext } from './request-context.js';
import { namespaceResourceLinks } from './resource-names.js';
import { registerPromptHandlers } from './session-prompts.js';
import { registerResourceHandlers } from './session-resources.js';
import { toMcpError } from './session-kit.js';
import type { SessionKit, SessionServerDeps, SessionState, ToolCallHandler } from './session-kit.js';
import { namespaceToolName, parseToolName } from '../shared/tool-names.js';

export const SERVER_INFO = { name: 'custos', version: '0.1.0' };
/** The request id of a list decision's call (never written: list decisions write no row). */
const LIST_REQUEST_ID = 'list';
export const REQUEST_ID_META = 'io.custos/request_id';
export const SERVER_CAPABILITIES = {
  tools: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
  completions: {},
  logging: {},
};

function errorResult(text: string, requestId: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }], _meta: { [REQUEST_ID_META]: requestId } };
}

/** Arguments Custos refused to inspect or that break the tool's schema: a JSON-RPC invalid-params error (the deny row is written). */
function refuseInvalidArguments(result: RunResult): void {
  if (result.forwarded) return;
  const { decision, call, exceeded } = result.authorization;
  const detail = { reasons: decision.reasons, request_id: call.requestId };
  if (exceeded)
    throw new CustosError('ERR_INPUT_TOO_COMPLEX', `The arguments are past the ${exceeded.limit} limit (${exceeded.max}).`, {
      detail: { ...detail, limit: exceeded.limit, max: exceeded.max },
    });
  if (decision.reasons.includes(ARGUMENTS_INVALID)) throw new CustosError('ERR_INPUT_INVALID', undefined, { detail });
}

/** The tool's input-schema verdict on these arguments (a tool the cache does not list is left to the upstream). */
function schemaDenial(deps: SessionServerDeps, ref: ToolRef, args: unknown): readonly DenyReason[] | undefined {
  const tool = deps.upstreams.listTools().find((t) => t.server === ref.server && t.tool.name === ref.name)?.tool;
  if (!tool || findLimitExceeded(args) !== undefined) return undefined; // past a limit: the pipeline denies it as too complex
  return checkToolArguments(ref.server, tool, args, deps.logger) === 'valid' ? undefined : [ARGUMENTS_INVALID];
}

/** Translates the pipeline's outcome back into a CallToolResult. */
export function toCallToolResult(result: RunResult): CallToolResult {
  const { decision, call } = result.authorization;
  const reasons = decision.reasons.length > 0 ? decision.reasons.join(', ') : 'no reason given';
  if (!result.forwarded) {
    const unconfirmed = describeConfirmationDenial(decision);
    if (unconfirmed !== undefined) return errorResult(unconfirmed, call.requestId);
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
  const value = namespaceResourceLinks(redacted as CallToolResult, call.tool.server);
  return { ...value, _meta: { ...value._meta, [REQUEST_ID_META]: call.requestId } };
}

function createKit(server: Server, deps: SessionServerDeps, state: SessionState): SessionKit {
  const kit: SessionKit = {
    server,
    deps,
    state,
    context(extra) {
      const ctx = extra.authInfo?.extra?.custos as RequestContext | undefined;
      // The HTTP layer authenticates every request; reaching here without a principal is a bug.
      if (!ctx?.principal) throw new CustosError('ERR_INTERNAL', 'An MCP request reached the session without an identity.');
      state.ctx = ctx;
      return ctx;
    },
    derive(ctx) {
      const client = server.getClientVersion();
      return deps.deriveAgent(ctx.principal, { name: client?.name ?? 'unknown', version: client?.version, tier: ctx.declaredTier, ...ctx.runtime });
    },
    govern: (ctx, action, forward, signal, related, deny, quiet) =>
      runGoverned({ pipeline: deps.pipeline, newId: () => deps.ids.newId() }, ctx, kit.derive(ctx), action, forward, {
        signal,
        deny,
        quiet,
        confirm: (auth) => {
          const timeoutMs = deps.confirmationTimeoutMs ?? DEFAULT_CONFIRMATION_TIMEOUT_MS;
          const release = deps.prompts?.hold(auth, CONFIRMATION_CHANNEL, timeoutMs);
          return askConfirmation(server, auth, { timeoutMs, signal, relatedRequestId: related }).finally(release);
        },
      }),
    async visible(ctx, item, action) {
      try {
        const call = toToolCall(LIST_REQUEST_ID, ctx, kit.derive(ctx), item);
        return (await deps.pipeline.evaluate(call, { action })).decision !== 'deny';
      } catch {
        return false;
      }
    },
    redact(value) {
      try {
        return deps.protector?.redact(value).value;
      } catch {
        return undefined;
      }
    },
    handle:
      (fn) =>
      async (...args) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw toMcpError(err, deps.logger);
        }
      },
  };
  return kit;
}

function createToolCallHandler(kit: SessionKit): ToolCallHandler {
  const { server, deps } = kit;
  return kit.handle(async (request, extra) => {
    const ctx = kit.context(extra);
    const ref = parseToolName(request.params.name);
    if (!deps.upstreams.has(ref.server)) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No upstream server has this name.');
    const args = request.params.arguments;
    const token = extra._meta?.progressToken;
    const onprogress =
      token === undefined
        ? undefined
        : (p: Progress) => {
            const message = p.message === undefined ? undefined : (kit.redact(p.message) ?? '[redacted:unprocessable]');
            void extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken: token, progress: p.progress, total: p.total, message },
            });
          };
    const relay = createClientRelay(kit, ctx);
    // Quiet: nothing can reach the agent mid-call (no progress asked; a client that can be sent neither an elicitation nor a sampling request).
    const client = server.getClientCapabilities();
    const quiet = token === undefined && client?.elicitation === undefined && client?.sampling === undefined;
    const result = await kit.govern(
      ctx,
      { kind: 'tool', tool: ref, arguments: args ?? {} },
      (auth) =>
        deps.upstreams.callTool(ref.server, ref.name, args, { signal: extra.signal, onprogress, relay, traceparent: auth.traceparent, user: ctx.principal }),
      extra.signal,
      extra.requestId,
      schemaDenial(deps, ref, args ?? {}),
      quiet,
    );
    refuseInvalidArguments(result);
    return toCallToolResult(result);
  });
}

function registerToolHandlers(kit: SessionKit, callTool: ToolCallHandler): void {
  const { server, deps } = kit;
  server.setRequestHandler(
    ListToolsRequestSchema,
    kit.handle(async (_request, extra) => {
      const ctx = kit.context(extra);
      const listed = deps.upstreams.listTools();
      const shown = await Promise.all(
        listed.map(({ server: upstream, tool }) => kit.visible(ctx, { kind: 'tool', tool: { server: upstream, name: tool.name }, arguments: {} }, 'list_tool')),
      );
      const tools: Tool[] = listed.filter((_, i) => shown[i]).map(({ server: upstream, tool }) => ({ ...tool, name: namespaceToolName(upstream, tool.name) }));
      return { tools };
    }),
  );
  server.setRequestHandler(CallToolRequestSchema, callTool);
}

export interface SessionServer {
  readonly server: Server;
  /** May this session's user receive `upstream`'s log messages (a `read_resource` decision on `logResource`)? */
  readonly mayReceiveLogs: (upstream: string) => Promise<boolean>;
  /** The Server's `tools/call` handler, for the plain JSON path to run without the Server's request machinery. */
  readonly callTool: ToolCallHandler;
}

export function createSessionServer(deps: SessionServerDeps, state: SessionState, logResource: string): SessionServer {
  const server = new Server(SERVER_INFO, { capabilities: SERVER_CAPABILITIES });
  const kit = createKit(server, deps, state);
  const callTool = createToolCallHandler(kit);
  registerToolHandlers(kit, callTool);
  registerResourceHandlers(kit);
  registerPromptHandlers(kit);
  const mayReceiveLogs = async (upstream: string): Promise<boolean> =>
    state.ctx !== undefined && kit.visible(state.ctx, { kind: 'resource', tool: { server: upstream, name: logResource }, arguments: {} });
  return { server, mayReceiveLogs, callTool };
}
