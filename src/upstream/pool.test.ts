import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { isCustosError } from '../kernel/index.js';
import { createSilentLogger, createTempDir, filesystemUpstream } from './fakes.test-support.js';
import type { UpstreamPool } from '../kernel/index.js';
import { createUpstreamPool } from './pool.js';

describe('createUpstreamPool', () => {
  const dir = createTempDir();
  const logger = createSilentLogger();
  let pool: UpstreamPool;

  beforeAll(async () => {
    writeFileSync(join(dir, 'hello.txt'), 'hello world');
    pool = await createUpstreamPool([filesystemUpstream('fs', dir), { name: 'broken', command: join(dir, 'no-such-binary') }], {
      logger,
      connectTimeoutMs: 10_000,
    });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('connects a real stdio upstream and caches its tools', () => {
    const names = pool
      .listTools()
      .filter((t) => t.server === 'fs')
      .map((t) => t.tool.name);
    expect(names).toContain('read_text_file');
    expect(names).toContain('write_file');
    const read = pool.listTools().find((t) => t.tool.name === 'read_text_file');
    expect(read?.tool.inputSchema.properties).toHaveProperty('path');
  });

  it('reports an upstream that failed to start, without its tools', async () => {
    const status = pool.status();
    expect(status.find((s) => s.name === 'fs')).toMatchObject({ state: 'ready', transport: 'stdio' });
    expect(status.find((s) => s.name === 'broken')).toMatchObject({ state: 'failed', tools: 0, error: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' });
    expect(pool.listTools().some((t) => t.server === 'broken')).toBe(false);
    expect(logger.lines.some((l) => l.level === 'error' && l.obj.upstream === 'broken')).toBe(true);
    const err = await pool.callTool('broken', 'x', {}).catch((e: unknown) => e);
    expect(isCustosError(err) && err.code).toBe('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
  });

  it('calls a tool', async () => {
    const result = (await pool.callTool('fs', 'read_text_file', { path: join(dir, 'hello.txt') })) as { content: { text: string }[] };
    expect(result.content[0]?.text).toBe('hello world');
  });

  it('treats unknown servers as unavailable', async () => {
    expect(pool.has('fs')).toBe(true);
    expect(pool.has('nope')).toBe(false);
    const err = await pool.callTool('nope', 'x', {}).catch((e: unknown) => e);
    expect(isCustosError(err) && err.code).toBe('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
  });
});

describe('a Streamable HTTP upstream whose tool list changes', () => {
  it('refreshes the cache on notifications/tools/list_changed and tells listeners', async () => {
    const mcp = new McpServer({ name: 'dynamic', version: '1.0.0' });
    mcp.registerTool('first', { description: 'the first tool', inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: 'text', text }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID });
    await mcp.connect(transport);
    const seenAuth: (string | undefined)[] = [];
    const http = createServer((req, res) => {
      seenAuth.push(req.headers.authorization);
      void transport.handleRequest(req, res);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const pool = await createUpstreamPool([{ name: 'dyn', url: `http://127.0.0.1:${port}/mcp`, headers: { authorization: 'Bearer upstream-key' } }], {
      logger: createSilentLogger(),
    });
    try {
      expect(pool.status()).toEqual([{ name: 'dyn', transport: 'http', state: 'ready', tools: 1, server: { name: 'dynamic', version: '1.0.0' } }]);
      expect(seenAuth.every((h) => h === 'Bearer upstream-key')).toBe(true);
      let changed = 0;
      pool.onToolsChanged(() => changed++);
      mcp.registerTool('second', { description: 'added later' }, async () => ({ content: [{ type: 'text', text: 'two' }] }));
      await vi.waitFor(
        () =>
          expect(
            pool
              .listTools()
              .map((t) => t.tool.name)
              .sort(),
          ).toEqual(['first', 'second']),
        { timeout: 5000 },
      );
      expect(changed).toBeGreaterThan(0);
      const result = (await pool.callTool('dyn', 'first', { text: 'echo' })) as { content: { text: string }[] };
      expect(result.content[0]?.text).toBe('echo');
    } finally {
      await pool.close();
      await mcp.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});
