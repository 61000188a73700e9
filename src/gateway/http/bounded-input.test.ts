/**
 * Bounded input at the call doors (issue 7, defects 2 and 6): a body past a limit is a
 * 400 / JSON-RPC invalid-params error with exactly one deny row naming the limit, never a
 * 500 and never a stored deep value; an unknown field in a decision API body is a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import { createFakePolicy, createTestPipeline, fakeGatewayDeps } from '../fakes.test-support.js';

const policy = createFakePolicy([]);
const { pipeline, audit } = createTestPipeline(policy);
let server: GatewayServer;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read arbitrary JSON replies
async function post(path: string, body: unknown, token = 'bob'): Promise<{ status: number; json: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** JSON text nested `depth` levels deep (built as text: JSON.stringify itself would overflow). */
function deepJson(depth: number): string {
  return `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
}

async function newRows<T>(fn: () => Promise<T>): Promise<{ result: T; rows: typeof audit.rows }> {
  const before = audit.rows.length;
  const result = await fn();
  return { result, rows: audit.rows.slice(before) };
}

beforeAll(async () => {
  const gateway = createGateway(
    fakeGatewayDeps(pipeline, policy, {
      limits: { maxBodyBytes: 256 * 1024 },
    }),
  );
  server = await startGatewayServer(gateway, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => server?.close());

const agent = { name: 'attacker-agent' };

describe('unknown fields in decision API bodies', () => {
  it('refuses a misspelt field with a 400 naming it, instead of evaluating no arguments', async () => {
    const { result, rows } = await newRows(() =>
      post('/v1/authorize', { tool: { server: 'fs', name: 'read' }, argumnts: { path: 'phi/patient-0001.md' }, agent }),
    );
    expect(result.status).toBe(400);
    expect(result.json.error.code).toBe('ERR_GATEWAY_BAD_REQUEST');
    expect(JSON.stringify(result.json.error.detail)).toContain('argumnts');
    expect(rows).toEqual([]);
  });

  it('refuses unknown fields nested in tool and agent, and in /v1/results', async () => {
    expect((await post('/v1/authorize', { tool: { server: 'fs', name: 'read', extra: 1 }, arguments: {}, agent })).status).toBe(400);
    expect((await post('/v1/authorize', { tool: { server: 'fs', name: 'read' }, arguments: {}, agent: { ...agent, tier2: 'x' } })).status).toBe(400);
    expect((await post('/v1/results', { request_id: 'r-1', output: 'x', outptu: 'y' })).status).toBe(400);
  });
});

describe('bodies past the input limits', () => {
  it('POST /v1/authorize with arguments 6,000 deep: 400 naming maxDepth, and one deny row storing nothing of them', async () => {
    const body = `{"tool":{"server":"fs","name":"read"},"agent":{"name":"a"},"request_id":"deep-1","arguments":${deepJson(6000)}}`;
    const { result, rows } = await newRows(() => post('/v1/authorize', body));
    expect(result.status).toBe(400);
    expect(result.json.error).toMatchObject({
      code: 'ERR_INPUT_TOO_COMPLEX',
      detail: { reason: 'arguments_too_complex', limit: 'maxDepth', max: 64, request_id: 'deep-1' },
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      event: 'deny',
      request_id: 'deep-1',
      user: { sub: 'bob' },
      tool: { server: 'fs', name: 'read' },
      policy: { decision: 'deny', reasons: ['arguments_too_complex'] },
      input: { redacted: '[redacted:too_complex]' },
      detail: { limit: 'maxDepth', max: 64 },
    });
  });

  it('POST /v1/results with an output 6,000 deep: 400 and one deny row', async () => {
    const { result, rows } = await newRows(() => post('/v1/results', `{"request_id":"deep-2","output":${deepJson(6000)}}`));
    expect(result.status).toBe(400);
    expect(result.json.error.code).toBe('ERR_INPUT_TOO_COMPLEX');
    expect(rows.map((r) => [r.event, r.request_id, r.policy.reasons])).toEqual([['deny', 'deep-2', ['arguments_too_complex']]]);
  });

  it('an MCP tools/call 6,000 deep: a JSON-RPC invalid-params error (HTTP 400) and one deny row naming the tool', async () => {
    const body = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"filesystem__read_text_file","arguments":${deepJson(6000)}}}`;
    const { result, rows } = await newRows(() => post('/mcp', body));
    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({
      jsonrpc: '2.0',
      id: 7,
      error: { code: -32602, data: { code: 'ERR_INPUT_TOO_COMPLEX', detail: { limit: 'maxDepth' } } },
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'deny', tool: { server: 'filesystem', name: 'read_text_file' }, policy: { reasons: ['arguments_too_complex'] } });
  });

  it('too many array items, and a body past maxBodyBytes (413), are one deny row each', async () => {
    const wide = await newRows(() =>
      post('/v1/authorize', { tool: { server: 'fs', name: 'read' }, agent, arguments: { paths: Array.from({ length: 100_001 }, () => 0) } }),
    );
    expect(wide.result.status).toBe(400);
    expect(wide.result.json.error.detail.limit).toBe('maxArrayItems');
    expect(wide.rows).toHaveLength(1);
    const big = await newRows(() => post('/v1/authorize', { tool: { server: 'fs', name: 'read' }, agent, arguments: { s: 'x'.repeat(300 * 1024) } }));
    expect(big.result.status).toBe(413);
    expect(big.rows).toHaveLength(1);
    expect(big.rows[0]).toMatchObject({ event: 'deny', policy: { reasons: ['arguments_too_complex'] }, detail: { limit: 'maxBodyBytes', max: 256 * 1024 } });
  });

  it('other JSON bodies are bounded too (400, nothing stored)', async () => {
    const { result } = await newRows(() => post('/v1/confirmations', `{"request_id":"x","outcome":"accepted","n":${deepJson(6000)}}`));
    expect(result.status).toBe(400);
    expect(result.json.error.code).toBe('ERR_INPUT_TOO_COMPLEX');
  });
});
