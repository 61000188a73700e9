import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { createSilentLogger } from './fakes.test-support.js';
import { createUpstreamPool } from './pool.js';

describe('W3C trace context to HTTP upstreams', () => {
  it('sends the call’s traceparent with its tools/call, and none with a call that has none', async () => {
    const mcp = new McpServer({ name: 'traced', version: '1.0.0' });
    mcp.registerTool('ping', { description: 'pong' }, async () => ({ content: [{ type: 'text', text: 'pong' }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID });
    await mcp.connect(transport);
    const seen: Array<{ method: string; traceparent?: string }> = [];
    const http = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const method = body ? (JSON.parse(body) as { method?: string }).method : undefined;
        if (method) seen.push({ method, traceparent: req.headers.traceparent as string | undefined });
        void transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const pool = await createUpstreamPool([{ name: 'traced', url: `http://127.0.0.1:${port}/mcp` }], { logger: createSilentLogger() });
    try {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      await pool.callTool('traced', 'ping', {}, { traceparent });
      await pool.callTool('traced', 'ping', {});
      const calls = seen.filter((s) => s.method === 'tools/call');
      expect(calls).toEqual([{ method: 'tools/call', traceparent }, { method: 'tools/call' }]);
      expect(seen.find((s) => s.method === 'initialize')?.traceparent).toBeUndefined();
    } finally {
      await pool.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});
