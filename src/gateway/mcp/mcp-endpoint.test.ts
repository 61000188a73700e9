import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import {
  createEmptyUpstreams,
  createFakePolicy,
  createFakeVerifier,
  createManualClock,
  createSilentLogger,
  createTestPipeline,
  deriveFakeAgent,
  mcpPostHeaders,
} from '../fakes.test-support.js';

const clock = createManualClock();
const policy = createFakePolicy();
let server: GatewayServer;
let url: string;
/** Agent sessions whose per-session upstream connections the gateway released. */
const released: string[] = [];

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: mcpPostHeaders('alice', headers), body: JSON.stringify(body) });
}

async function openSession(): Promise<Response> {
  const res = await post(initialize);
  await res.body?.cancel();
  return res;
}

beforeAll(async () => {
  const gateway = createGateway({
    verifier: createFakeVerifier(),
    pipeline: createTestPipeline(policy).pipeline,
    policy,
    upstreams: { ...createEmptyUpstreams(), releaseSession: async (session: string) => void released.push(session) },
    deriveAgent: deriveFakeAgent,
    resourceUrl: 'http://127.0.0.1:1/mcp',
    authorizationServers: ['https://idp.test'],
    logger: createSilentLogger(),
    clock,
    limits: { maxSessions: 2, sessionIdleMs: 60_000, maxBodyBytes: 2048 },
  });
  server = await startGatewayServer(gateway, { host: '127.0.0.1', port: 0 });
  url = `${server.url}/mcp`;
});
afterAll(async () => server?.close());

describe('MCP session limits', () => {
  it('caps open sessions and closes idle ones', async () => {
    const first = await openSession();
    const id = first.headers.get('mcp-session-id')!;
    expect(first.status).toBe(200);
    expect((await openSession()).status).toBe(200);
    const third = await openSession();
    expect(third.status).toBe(503);
    // after the idle time both sessions are closed at the next initialize
    expect(released).toEqual([]);
    clock.advance(61_000);
    expect((await openSession()).status).toBe(200);
    // …and their per-session upstream connections are released with them
    await vi.waitFor(() => expect(released).toHaveLength(2));
    expect(new Set(released).size).toBe(2);
    const stale = await post(list, { 'mcp-session-id': id });
    expect(stale.status).toBe(404);
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await post({ ...initialize, params: { ...initialize.params, clientInfo: { name: 'x'.repeat(4096), version: '1' } } });
    expect(res.status).toBe(413);
  });

  it('refuses a bad token on GET and DELETE too, before any session lookup', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(url, { method, headers: { authorization: 'Bearer forged', 'mcp-session-id': 'whatever' } });
      expect(res.status).toBe(401);
    }
  });
});
