/**
 * Resources through Custos: listed (resources and templates) from every upstream under
 * `custos://<server>/<uri>`, only those the policy's `read_resource` decision lets this user
 * read (the URI classified like a file path, so a PHI resource is hidden from who may not
 * read PHI); each read and each subscription is a governed action on the resource
 * (`tool = { server, name: <upstream URI> }`) with its audit rows, and the content comes
 * back redacted.
 */
import {
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { ReadResourceResult, Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../../kernel/index.js';
import { forwardedOutput } from './governed-call.js';
import type { GovernedAction } from './governed-call.js';
import { createClientRelay } from './client-relay.js';
import { namespaceContents, namespaceResourceUri, parseResourceUri } from './resource-names.js';
import type { RequestContext } from './request-context.js';
import type { SessionKit } from './session-kit.js';

/** The read of `uri` as the pipeline sees it (the list asks exactly what the read will ask). */
function readAction(server: string, uri: string): GovernedAction {
  return { kind: 'resource', tool: { server, name: uri }, arguments: { uri } };
}

/** The items of a list the user may read, in order. */
async function readable<T>(kit: SessionKit, ctx: RequestContext, items: readonly T[], target: (item: T) => { server: string; uri: string }): Promise<T[]> {
  const shown = await Promise.all(items.map((item) => kit.visible(ctx, readAction(target(item).server, target(item).uri))));
  return items.filter((_, i) => shown[i]);
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
      const all = items.map(({ server: upstream, item }) => ({ upstream, resource: item as Resource }));
      const resources = (await readable(kit, ctx, all, ({ upstream, resource }) => ({ server: upstream, uri: resource.uri }))).map(
        ({ upstream, resource }) => ({
          ...resource,
          uri: namespaceResourceUri(upstream, resource.uri),
        }),
      );
      return { resources };
    }),
  );

  server.setRequestHandler(
    ListResourceTemplatesRequestSchema,
    kit.handle(async (_request, extra) => {
      const ctx = kit.context(extra);
      const items = await deps.upstreams.listAll('resourceTemplates');
      const all = items.map(({ server: upstream, item }) => ({ upstream, template: item as ResourceTemplate }));
      const resourceTemplates = (await readable(kit, ctx, all, ({ upstream, template }) => ({ server: upstream, uri: template.uriTemplate }))).map(
        ({ upstream, template }) => ({
          ...template,
          uriTemplate: namespaceResourceUri(upstream, template.uriTemplate),
        }),
      );
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
        readAction(target.server, target.uri),
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
      const action = {
        kind: 'resource' as const,
        tool: { server: target.server, name: target.uri },
        arguments: { method: 'resources/subscribe', uri: target.uri },
      };
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
