/**
 * Prompts, completions and logging through Custos. Prompts are listed as `<server>__<name>`
 * when the policy's `get_prompt` decision lets the user fetch them; each prompts/get and
 * each completion/complete is a governed action (kind `prompt`, or `resource` for a
 * resource-template completion) with its audit rows and redacted output. logging/setLevel
 * sets this session's level; upstream log messages reach it redacted (see session-hub.ts).
 */
import { CompleteRequestSchema, GetPromptRequestSchema, ListPromptsRequestSchema, SetLevelRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { CompleteRequest, CompleteResult, GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../../kernel/index.js';
import { createClientRelay } from './client-relay.js';
import { forwardedOutput } from './governed-call.js';
import type { GovernedAction } from './governed-call.js';
import { namespaceResourceLinks, parseResourceUri } from './resource-names.js';
import type { SessionKit } from './session-kit.js';
import { namespaceToolName, parseToolName } from '../shared/tool-names.js';

function checkServer(kit: SessionKit, server: string): void {
  if (!kit.deps.upstreams.has(server)) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No upstream server has this name.');
}

/** The governed action and the upstream request of a completion. */
function completionTarget(kit: SessionKit, params: CompleteRequest['params']): { server: string; action: GovernedAction; upstream: Record<string, unknown> } {
  const audited = { method: 'completion/complete', argument: params.argument, context: params.context };
  if (params.ref.type === 'ref/prompt') {
    const ref = parseToolName(params.ref.name);
    checkServer(kit, ref.server);
    return { server: ref.server, action: { kind: 'prompt', tool: ref, arguments: audited }, upstream: { ...params, ref: { ...params.ref, name: ref.name } } };
  }
  const target = parseResourceUri(params.ref.uri);
  checkServer(kit, target.server);
  return {
    server: target.server,
    action: { kind: 'resource', tool: { server: target.server, name: target.uri }, arguments: audited },
    upstream: { ...params, ref: { ...params.ref, uri: target.uri } },
  };
}

export function registerPromptHandlers(kit: SessionKit): void {
  const { server, deps, state } = kit;

  server.setRequestHandler(
    ListPromptsRequestSchema,
    kit.handle(async (_request, extra) => {
      const ctx = kit.context(extra);
      const items = await deps.upstreams.listAll('prompts');
      const all = items.map(({ server: upstream, item }) => ({ upstream, prompt: item as Prompt }));
      const shown = await Promise.all(
        all.map(({ upstream, prompt }) => kit.visible(ctx, { kind: 'prompt', tool: { server: upstream, name: prompt.name }, arguments: {} })),
      );
      const prompts = all.filter((_, i) => shown[i]).map(({ upstream, prompt }) => ({ ...prompt, name: namespaceToolName(upstream, prompt.name) }));
      return { prompts };
    }),
  );

  server.setRequestHandler(
    GetPromptRequestSchema,
    kit.handle(async (request, extra) => {
      const ctx = kit.context(extra);
      const ref = parseToolName(request.params.name);
      checkServer(kit, ref.server);
      const args = request.params.arguments;
      const relay = createClientRelay(kit, ctx);
      const result = await kit.govern(
        ctx,
        { kind: 'prompt', tool: ref, arguments: args ?? {} },
        () => deps.upstreams.request(ref.server, 'prompts/get', { name: ref.name, ...(args ? { arguments: args } : {}) }, { signal: extra.signal, relay }),
        extra.signal,
        extra.requestId,
      );
      return namespaceResourceLinks(forwardedOutput(result) as GetPromptResult, ref.server);
    }),
  );

  server.setRequestHandler(
    CompleteRequestSchema,
    kit.handle(async (request, extra) => {
      const ctx = kit.context(extra);
      const target = completionTarget(kit, request.params);
      const result = await kit.govern(
        ctx,
        target.action,
        () => deps.upstreams.request(target.server, 'completion/complete', target.upstream, { signal: extra.signal }),
        extra.signal,
        extra.requestId,
      );
      return forwardedOutput(result) as CompleteResult;
    }),
  );

  server.setRequestHandler(
    SetLevelRequestSchema,
    kit.handle(async (request, extra) => {
      kit.context(extra);
      state.logLevel = request.params.level;
      if (state.onLogLevel) await state.onLogLevel();
      else await deps.upstreams.setLoggingLevel(request.params.level);
      return {};
    }),
  );
}
