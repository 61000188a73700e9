/**
 * The MCP door's translation of a governed action and of its outcome: codes used for what
 * they name (a cancelled call is ERR_GATEWAY_CANCELLED, a client without elicitation or
 * sampling ERR_GATEWAY_CAPABILITY_UNSUPPORTED), and a declared tier carried to the pipeline.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { describe, expect, it } from 'vitest';
import { createEmptyUpstreams, createFakePolicy, createSilentLogger, createTestPipeline, deriveFakeAgent } from '../fakes.test-support.js';
import { createClientRelay } from './client-relay.js';
import { forwardedOutput, runGoverned, toToolCall } from './governed-call.js';
import { createSessionServer } from './session-server.js';
import type { RequestContext } from './request-context.js';
import type { SessionKit } from './session-kit.js';

const ctx: RequestContext = { principal: { sub: 'alice', iss: 'https://idp.test', roles: [], groups: [] } };

function setup() {
  const { pipeline, audit } = createTestPipeline(createFakePolicy());
  let n = 0;
  const deps = { pipeline, newId: () => `call-${++n}` };
  const kit = {
    state: { id: 'session-1', subscriptions: new Set<string>() },
    server: { getClientCapabilities: () => ({}) } as unknown as Server,
    deps: { logger: createSilentLogger() },
    govern: (c: RequestContext, action: Parameters<typeof runGoverned>[3], forward: Parameters<typeof runGoverned>[4], signal?: AbortSignal) =>
      runGoverned(deps, c, deriveFakeAgent(c.principal, { name: 'agent' }), action, forward, { signal }),
  } as unknown as SessionKit;
  return { deps, audit, kit };
}

describe('the MCP door of a governed action', () => {
  it('reports a call the agent cancelled as ERR_GATEWAY_CANCELLED (not a conflict), with its result row', async () => {
    const { deps, audit } = setup();
    const abort = new AbortController();
    const result = await runGoverned(
      deps,
      ctx,
      deriveFakeAgent(ctx.principal, { name: 'agent' }),
      { kind: 'tool', tool: { server: 'fs', name: 'read' }, arguments: {} },
      async () => {
        abort.abort();
        throw new Error('aborted');
      },
      { signal: abort.signal },
    );
    expect(() => forwardedOutput(result)).toThrow(expect.objectContaining({ code: 'ERR_GATEWAY_CANCELLED' }));
    expect(audit.rows.at(-1)).toMatchObject({ event: 'result', output: { error: 'cancelled' } });
  });

  it('answers an upstream elicitation or sampling request for a client without that capability with ERR_GATEWAY_CAPABILITY_UNSUPPORTED (-32601)', async () => {
    const { kit, audit } = setup();
    const relay = createClientRelay(kit, ctx);
    const signal = new AbortController().signal;
    for (const ask of [
      () => relay.elicit('srv', { mode: 'form', message: 'name?', requestedSchema: { type: 'object', properties: {} } }, signal),
      () => relay.sample('srv', { messages: [], maxTokens: 1 }, signal),
    ]) {
      const err = await ask().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(McpError);
      expect(err).toMatchObject({ code: -32601, data: { code: 'ERR_GATEWAY_CAPABILITY_UNSUPPORTED' } });
    }
    expect(audit.rows.filter((r) => r.event === 'result').map((r) => r.output?.error)).toEqual([
      'ERR_GATEWAY_CAPABILITY_UNSUPPORTED',
      'ERR_GATEWAY_CAPABILITY_UNSUPPORTED',
    ]);
  });

  it('carries a declared tier that disagrees to the pipeline, which denies it', async () => {
    const derived = deriveFakeAgent(ctx.principal, { name: 'agent', tier: 'background' });
    const call = toToolCall('r-1', ctx, derived, { kind: 'tool', tool: { server: 'fs', name: 'read' }, arguments: {} });
    expect(call.agent).toMatchObject({ tier: 'interactive', declaredTier: 'background', tierMismatch: true });
    const { deps, audit } = setup();
    const result = await runGoverned(deps, ctx, derived, { kind: 'tool', tool: { server: 'fs', name: 'read' }, arguments: {} }, async () => 'never');
    expect(result.forwarded).toBe(false);
    expect(audit.rows.map((r) => [r.event, r.policy.reasons[0]])).toEqual([
      ['deny', 'tier_mismatch'],
      ['alert', 'tier_mismatch'],
    ]);
  });

  it('reports a request that reached a session without an identity as an internal fault (ERR_INTERNAL), not a missing token', async () => {
    const policy = createFakePolicy();
    const { pipeline } = createTestPipeline(policy);
    const deps = {
      pipeline,
      policy,
      upstreams: createEmptyUpstreams(),
      deriveAgent: deriveFakeAgent,
      ids: { newId: () => 'id' },
      logger: createSilentLogger(),
    };
    const { server } = createSessionServer(deps, { id: 's', subscriptions: new Set() }, 'notifications/message');
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'no-http-layer', version: '1' });
    await client.connect(clientSide);
    await expect(client.listTools()).rejects.toMatchObject({ code: -32603, data: { code: 'ERR_INTERNAL' } });
    await client.close();
  });
});
