import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Principal, UpstreamTokenIssuer } from '../kernel/index.js';
import { createSilentLogger } from './fakes.test-support.js';
import { createUpstreamPool } from './pool.js';

/** A real MCP server over HTTP that notes the authorization header of each tools/call. */
async function startUpstream(): Promise<{ url: string; auth: Array<string | undefined>; server: Server }> {
  const mcp = new McpServer({ name: 'who', version: '1.0.0' });
  mcp.registerTool('ping', { description: 'pong' }, async () => ({ content: [{ type: 'text', text: 'pong' }] }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID });
  await mcp.connect(transport);
  const auth: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const parsed = body ? (JSON.parse(body) as { method?: string }) : undefined;
      if (parsed?.method === 'tools/call') auth.push(req.headers.authorization);
      void transport.handleRequest(req, res, parsed);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, auth, server };
}

const servers: Server[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

describe("the user's context at the tool", () => {
  it("gives the user's token only to an upstream with identity, and enters the async context only for that one", async () => {
    const withIdentity = await startUpstream();
    const plain = await startUpstream();
    servers.push(withIdentity.server, plain.server);
    const tokens: UpstreamTokenIssuer = { issue: async (user, audience) => `for-${user.sub}-at-${audience}` };
    const pool = await createUpstreamPool(
      [
        { name: 'hr', url: withIdentity.url, identity: { mode: 'token-exchange', audience: 'hr-api' } },
        { name: 'plain', url: plain.url },
      ],
      { logger: createSilentLogger(), tokens },
    );
    const alice = { iss: 'https://idp.test', sub: 'alice' } as Principal;
    // Entering an AsyncLocalStorage switches on Node 20's promise hooks for the whole process: every
    // promise then pays for them, so the pool enters the user's context only where it is read.
    const run = vi.spyOn(AsyncLocalStorage.prototype, 'run');
    try {
      await pool.callTool('plain', 'ping', {}, { user: alice });
      expect(run).not.toHaveBeenCalled();
      await pool.callTool('hr', 'ping', {}, { user: alice });
      expect(run).toHaveBeenCalledTimes(1);
      expect(withIdentity.auth).toEqual(['Bearer for-alice-at-hr-api']);
      expect(plain.auth).toEqual([undefined]);
    } finally {
      await pool.close();
    }
  });
});
