/**
 * The MCP front door in process: the official SDK client in front, the official
 * filesystem MCP server behind (stdio), the real kernel pipeline in between.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import {
  SECRET_MARKER,
  createFakePolicy,
  createFakeVerifier,
  createSilentLogger,
  createTempDir,
  createTestPipeline,
  deriveFakeAgent,
} from '../fakes.test-support.js';
import type { UpstreamPool } from '../types.js';
import { createUpstreamPool } from '../../upstream/index.js';
import { filesystemUpstream } from '../../upstream/index.test-support.js';

type TextResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: unknown; _meta?: Record<string, unknown> };
const textOf = (r: unknown): string => (r as TextResult).content.map((c) => c.text ?? '').join('\n');

const dir = createTempDir();
// bob may neither see nor call write tools; edit_file needs a confirmation.
const policy = createFakePolicy([
  (i) => (i.tool.name.startsWith('write') && i.principal.sub !== 'alice' ? 'deny' : undefined),
  (i) => (i.tool.name === 'edit_file' && i.action === 'call_tool' ? 'confirm' : undefined),
  (i) => (i.tool.name === 'read_media_file' && i.action === 'list_tool' ? 'confirm' : undefined),
]);
const { pipeline, audit } = createTestPipeline(policy);
let upstreams: UpstreamPool;
let server: GatewayServer;
let mcpUrl: string;
const clients: Client[] = [];

async function connect(
  token: string,
  headers: Record<string, string> = {},
  name = 'test-agent',
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}`, ...headers } } });
  const client = new Client({ name, version: '9.9.9' });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

function rawPost(body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(mcpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', ...headers },
    body: JSON.stringify(body),
  });
}

async function errorCodeOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

beforeAll(async () => {
  writeFileSync(join(dir, 'notes.txt'), `api key: ${SECRET_MARKER}\nhello`);
  upstreams = await createUpstreamPool([filesystemUpstream('fs', dir), { name: 'broken', command: join(dir, 'missing-binary') }], {
    logger: createSilentLogger(),
  });
  // The resource URL must be known before the port is: bind first, then build the gateway on that port.
  const probe = await startGatewayServer({ handler: (_q, s) => s.end(), close: async () => undefined }, { host: '127.0.0.1', port: 0 });
  const port = probe.port;
  await probe.close();
  mcpUrl = `http://127.0.0.1:${port}/mcp`;
  const gateway = createGateway({
    verifier: createFakeVerifier(),
    pipeline,
    policy,
    upstreams,
    deriveAgent: deriveFakeAgent,
    resourceUrl: mcpUrl,
    authorizationServers: ['https://idp.test'],
    logger: createSilentLogger(),
  });
  server = await startGatewayServer(gateway, { host: '127.0.0.1', port });
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await server?.close();
  await upstreams?.close();
});

describe('MCP front door: authentication', () => {
  it('answers 401 with WWW-Authenticate and touches no upstream without a token', async () => {
    const before = audit.rows.length;
    const res = await rawPost(initialize, {});
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource"`);
    expect(await errorCodeOf(res)).toBe('ERR_IDENTITY_TOKEN_MISSING');
    const bad = await rawPost(initialize, { authorization: 'Bearer forged' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(audit.rows.slice(before).map((r) => r.event)).toEqual(['auth_failure', 'auth_failure']);
  });

  it('refuses the official client without a token', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl));
    await expect(new Client({ name: 'anon', version: '1' }).connect(transport)).rejects.toThrow();
  });

  it('serves protected resource metadata naming the MCP resource', async () => {
    const meta = await (await fetch(new URL('/.well-known/oauth-protected-resource/mcp', mcpUrl))).json();
    expect(meta).toEqual(expect.objectContaining({ resource: mcpUrl, authorization_servers: ['https://idp.test'], bearer_methods_supported: ['header'] }));
  });
});

describe('MCP front door: tools/list', () => {
  it('lists namespaced upstream tools filtered per user, schemas intact', async () => {
    const alice = (await (await connect('alice')).client.listTools()).tools;
    const bob = (await (await connect('bob')).client.listTools()).tools;
    const names = (ts: { name: string }[]) => ts.map((t) => t.name);
    expect(names(alice)).toContain('fs__write_file');
    expect(names(alice)).toContain('fs__read_text_file');
    expect(names(alice).every((n) => n.startsWith('fs__'))).toBe(true);
    expect(names(bob)).not.toContain('fs__write_file');
    expect(names(bob)).toContain('fs__read_text_file');
    // a 'confirm' on list_tool still shows the tool
    expect(names(bob)).toContain('fs__read_media_file');
    const direct = upstreams.listTools().find((t) => t.tool.name === 'read_text_file')!.tool;
    const exposed = alice.find((t) => t.name === 'fs__read_text_file')!;
    expect(exposed).toEqual({ ...direct, name: 'fs__read_text_file' });
    expect(exposed.outputSchema).toBeDefined();
    expect(exposed.annotations?.readOnlyHint).toBe(true);
  });
});

describe('MCP front door: tools/call', () => {
  it('never forwards a denied call: the file is not written', async () => {
    const { client } = await connect('bob');
    const target = join(dir, 'bob.txt');
    const result = await client.callTool({ name: 'fs__write_file', arguments: { path: target, content: 'pwned' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('Denied by policy: writes_need_admin');
    expect(existsSync(target)).toBe(false);
    expect(audit.rows.at(-1)).toMatchObject({ event: 'deny', user: { sub: 'bob' }, tool: { server: 'fs', name: 'write_file' } });
  });

  it('forwards an allowed write', async () => {
    const { client } = await connect('alice');
    const target = join(dir, 'alice.txt');
    const result = await client.callTool({ name: 'fs__write_file', arguments: { path: target, content: 'hi' } });
    expect(result.isError).toBeFalsy();
    expect(existsSync(target)).toBe(true);
  });

  it("returns the pipeline's redacted output, not the upstream's", async () => {
    const { client } = await connect('alice', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }, 'claude-test');
    const result = await client.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'notes.txt') } });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe('api key: [redacted:secret]\nhello');
    expect(JSON.stringify(result)).not.toContain(SECRET_MARKER);
    expect((result as TextResult).structuredContent).toEqual({ content: 'api key: [redacted:secret]\nhello' });
    const requestId = (result as TextResult)._meta?.['io.custos/request_id'];
    const rows = audit.rows.filter((r) => r.request_id === requestId);
    expect(rows.map((r) => r.event)).toEqual(['intent', 'result']);
    expect(rows[0]).toMatchObject({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', agent: { name: 'claude-test', version: '9.9.9', tier: 'interactive' } });
    // once in content, once in structuredContent
    expect(rows[1]?.redactions).toEqual({ count: 2, types: ['secret'] });
  });

  it('denies a confirm decision as confirmation_unavailable when the client cannot be asked (no elicitation), without forwarding', async () => {
    const { client } = await connect('alice');
    const result = await client.callTool({ name: 'fs__edit_file', arguments: { path: join(dir, 'alice.txt'), edits: [{ oldText: 'hi', newText: 'bye' }] } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Confirmation required by policy, but Custos cannot ask the user/);
    expect(textOf(result)).toContain('confirmation_unavailable');
    expect(textOf(result)).not.toContain('bye');
    const requestId = (result as TextResult)._meta?.['io.custos/request_id'];
    const rows = audit.rows.filter((r) => r.request_id === requestId);
    expect(rows.map((r) => [r.event, r.user.sub, r.policy.decision, r.confirmation?.status])).toEqual([
      ['confirm', 'alice', 'confirm', 'requested'],
      ['deny', 'alice', 'deny', 'unavailable'],
    ]);
    expect(rows[1]?.policy.reasons[0]).toBe('confirmation_unavailable');
  });

  it('denies a declared tier that disagrees with the credential', async () => {
    const { client } = await connect('alice', { 'x-custos-agent-tier': 'background' });
    expect((await client.listTools()).tools).toEqual([]);
    const result = await client.callTool({ name: 'fs__read_text_file', arguments: { path: join(dir, 'notes.txt') } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('Denied by policy: tier_mismatch');
    expect(audit.rows.slice(-2).map((r) => [r.event, r.user.sub, r.policy.reasons[0]])).toEqual([
      ['deny', 'alice', 'tier_mismatch'],
      ['alert', 'alice', 'tier_mismatch'],
    ]);
  });

  it('reports an upstream that is down as ERR_GATEWAY_UPSTREAM_UNAVAILABLE', async () => {
    const { client } = await connect('alice');
    const result = await client.callTool({ name: 'broken__anything', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('Upstream call failed: ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    expect(audit.rows.at(-1)).toMatchObject({ event: 'result', output: { error: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' } });
  });

  it('answers a JSON-RPC error for a tool name that names no upstream', async () => {
    const { client } = await connect('alice');
    await expect(client.callTool({ name: 'nope__x', arguments: {} })).rejects.toThrow(/-32602/);
    await expect(client.callTool({ name: 'not-namespaced', arguments: {} })).rejects.toThrow(/-32602/);
  });

  it('fails closed with a JSON-RPC error when the audit store cannot write', async () => {
    const { client } = await connect('alice');
    const target = join(dir, 'audit-down.txt');
    audit.failing = true;
    try {
      await expect(client.callTool({ name: 'fs__write_file', arguments: { path: target, content: 'x' } })).rejects.toThrow(/audit/i);
    } finally {
      audit.failing = false;
    }
    expect(existsSync(target)).toBe(false);
  });
});

describe('MCP front door: sessions', () => {
  it("refuses a session used with another user's token (403), and keeps working for its owner", async () => {
    const { client, transport } = await connect('alice');
    const sessionId = transport.sessionId!;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const hijack = await rawPost(
      { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'fs__write_file', arguments: { path: join(dir, 'hijack.txt'), content: 'x' } } },
      {
        authorization: 'Bearer bob',
        'mcp-session-id': sessionId,
      },
    );
    expect(hijack.status).toBe(403);
    expect(await errorCodeOf(hijack)).toBe('ERR_IDENTITY_SESSION_MISMATCH');
    expect(existsSync(join(dir, 'hijack.txt'))).toBe(false);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('answers 404 for an unknown session and 400 for a non-initialize request without one', async () => {
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const unknown = await rawPost(list, { authorization: 'Bearer alice', 'mcp-session-id': 'no-such-session' });
    expect(unknown.status).toBe(404);
    const none = await rawPost(list, { authorization: 'Bearer alice' });
    expect(none.status).toBe(400);
  });

  it('closes a session on DELETE', async () => {
    const { transport } = await connect('alice');
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    const after = await rawPost({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} }, { authorization: 'Bearer alice', 'mcp-session-id': sessionId });
    expect(after.status).toBe(404);
  });
});
