/**
 * A store that is down, at the gateway's doors (issue 15): the session guard's store and the
 * shared MCP session store, each failing as the real ones fail. One named 503 with Retry-After,
 * never a 500; nothing is made for the caller; the refusal is a row under the user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustosError } from '../../kernel/index.js';
import type { McpSessionStore, SessionGuard } from '../../kernel/index.js';
import { createFakePolicy, createTestPipeline, expectStoreDown, fakeGatewayDeps, mcpPostHeaders } from '../fakes.test-support.js';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';

const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const call = { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'fs__read_text_file', arguments: { path: '/w/notes.md' } } };

describe('a store that is down, at the doors', () => {
  const policy = createFakePolicy();
  const { pipeline, audit } = createTestPipeline(policy);
  let guardDown = false;
  const sessions: SessionGuard = {
    check: async () => {
      if (guardDown) throw new CustosError('ERR_IDENTITY_SESSION_STORE_UNAVAILABLE', undefined, { cause: refused() });
    },
    touch: async () => undefined,
  };
  const mcpSessions: McpSessionStore = {
    put: async () => undefined,
    get: () => Promise.reject(refused()), // another replica's session cannot be looked up
    remove: async () => undefined,
  };
  let server: GatewayServer;
  beforeAll(async () => {
    server = await startGatewayServer(createGateway(fakeGatewayDeps(pipeline, policy, { identity: { sessions, mcpSessions } })), {
      host: '127.0.0.1',
      port: 0,
    });
  });
  afterAll(() => server?.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: mcpPostHeaders('alice', headers), body: JSON.stringify(body) });

  it('a session on another replica that cannot be looked up: 503 ERR_GATEWAY_SESSION_STORE_UNAVAILABLE naming identity.sessions.store, no session made', async () => {
    const res = await post('/mcp', call, { 'mcp-session-id': 'held-by-another-replica' });
    await expectStoreDown(res, 'ERR_GATEWAY_SESSION_STORE_UNAVAILABLE', /identity\.sessions\.store/);
    expect(res.headers.get('mcp-session-id')).toBeNull();
  });

  it('the session guard cannot reach its store: both doors 503 ERR_IDENTITY_SESSION_STORE_UNAVAILABLE, a deny row under the user', async () => {
    guardDown = true;
    try {
      const before = audit.rows.length;
      await expectStoreDown(await post('/mcp', call, { 'mcp-session-id': 'any' }), 'ERR_IDENTITY_SESSION_STORE_UNAVAILABLE', /identity\.sessions\.store/);
      await expectStoreDown(
        await post('/v1/authorize', { tool: { server: 'fs', name: 'read_text_file' }, arguments: { path: '/w/notes.md' } }),
        'ERR_IDENTITY_SESSION_STORE_UNAVAILABLE',
        /identity\.sessions\.store/,
      );
      const rows = audit.rows.slice(before);
      expect(rows).toHaveLength(2);
      for (const row of rows)
        expect(row).toMatchObject({
          event: 'deny',
          user: { sub: 'alice' },
          policy: { reasons: ['session_store_unavailable'] },
          tool: { name: 'read_text_file' },
        });
    } finally {
      guardDown = false;
    }
  });
});
