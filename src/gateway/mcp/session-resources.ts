/**
 * Resources through Custos: listed (resources and templates) from every upstream under
 * `custos://<server>/<uri>`, only those the policy's `read_resource` decision lets this user
 * read (the URI classified like a file path, so a PHI resource is hidden from who may not
 * read PHI); each read and each subscription is a governed action on the resource
 * (`tool = { server, name: <upstream URI> }`) with its audit rows, and the content comes
 * back redacted.
 */
import { ListResourceTemplatesRequestSchema, ListResourcesRequestSchema, ReadResourceRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ReadResourceResult, Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../../kernel/index.js';
import { forwardedOutput } from './governed-call.js';
import { createClientRelay } from './client-relay.js';
import { namespaceContents, namespaceResourceUri, parseResourceUri } from './resource-names.js';
import type { RequestContext, SessionKit } from './session-server.js';

/** The data classes of a resource URI; undefined when they cannot be known (the item is then hidden). */
function classifyUri(kit: SessionKit, server: string, uri: string): string[] | undefined {
  const protector = kit.deps.protector;
  if (!protector) return undefined;
  try {
    return protector.classify({ tool: { server, name: uri }, arguments: { uri }, kind: 'resource' }, kit.deps.policy.current().classificationRules);
  } catch {
    return undefined;
  }
}

function mayRead(kit: SessionKit, ctx: RequestContext, server: string, uri: string): boolean {
  const dataClasses = classifyUri(kit, server, uri);
  return dataClasses !== undefined && kit.visible(ctx, 'read_resource', { server, name: uri }, dataClasses);
}

function targetOf(kit: SessionKit, uri: string): { server: string; uri: string } {
  const target = parseResourceUri(uri);
  if (!kit.deps.upstreams.has(target.server)) throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'No upstream server has this name.');
  return target;
}

export function registerResourceHandlers(kit: SessionKit): void {
  const { server, deps, state } = kit;

  server.setRequestHandler(
    ListResourcesRequestSchema,
    kit.handle(async (_request, extra) => {
      const ctx = kit.context(extra);
      const items = await deps.upstreams.listAll('resources');
      const resources = items
        .map(({ server: upstream, item }) => ({ upstream, resource: item as Resource }))
        .filter(({ upstream, resource }) => mayRead(kit, ctx, upstream, resource.uri))
        .map(({ upstream, resource }) => ({ ...resource, uri: namespaceResourceUri(upstream, resource.uri) }));
      return { resources };
    }),
  );

  server.setRequestHandler(
    ListResourceTemplatesRequestSchema,
    kit.handle(async (_request, extra) => {
      const ctx = kit.context(extra);
      const items = await deps.upstreams.listAll('resourceTemplates');
      const resourceTemplates = items
        .map(({ server: upstream, item }) => ({ upstream, template: item as ResourceTemplate }))
        .filter(({ upstream, template }) => mayRead(kit, ctx, upstream, template.uriTemplate))
        .map(({ upstream, template }) => ({ ...template, uriTemplate: namespaceResourceUri(upstream, template.uriTemplate) }));
      return { resourceTemplates };
    }),
  );

  server.setRequestHandler(
    ReadResourceRequestSchema,
    kit.handle(async (request, extra) => {
      const ctx = kit.context(extra);
      const target = targetOf(kit, request.params.uri);
      const relay = createClientRelay(kit, ctx);
      const result = await kit.govern(
        ctx,
        { kind: 'resource', tool: { server: target.server, name: target.uri }, arguments: { uri: target.uri } },
        () => deps.upstreams.request(target.server, 'resources/read', { uri: target.uri }, { signal: extra.signal, relay }),
        extra.signal,
        extra.requestId,
      );
      const output = forwardedOutput(result) as ReadResourceResult;
      return namespaceContents(output, target.server);
    }),
  );

  server.setRequestHandler(
    SubscribeRequestSchema,
    kit.handle(async (request, extra) => {
      const ctx = kit.context(extra);
      const target = targetOf(kit, request.params.uri);
      const namespaced = namespaceResourceUri(target.server, target.uri);
      const subscribe = async (): Promise<Record<string, unknown>> => {
        if (state.onSubscribe) await state.onSubscribe(namespaced, true);
        else await deps.upstreams.request(target.server, 'resources/subscribe', { uri: target.uri });
        state.subscriptions.add(namespaced);
        return {};
      };
      const action = { kind: 'resource' as const, tool: { server: target.server, name: target.uri }, arguments: { method: 'resources/subscribe', uri: target.uri } };
      forwardedOutput(await kit.govern(ctx, action, subscribe, extra.signal, extra.requestId));
      return {};
    }),
  );

  server.setRequestHandler(
    UnsubscribeRequestSchema,
    kit.handle(async (request, extra) => {
      kit.context(extra);
      const target = targetOf(kit, request.params.uri);
      const namespaced = namespaceResourceUri(target.server, target.uri);
      if (state.subscriptions.delete(namespaced)) {
        if (state.onSubscribe) await state.onSubscribe(namespaced, false);
        else await deps.upstreams.request(target.server, 'resources/unsubscribe', { uri: target.uri });
      }
      return {};
    }),
  );
}
