/**
 * Property-based fuzzing (fast-check) of a real Custos through the e2e harness: JSON-RPC bodies
 * to /mcp (also inside an open session) and decision-API bodies (/v1/authorize, /v1/results) of
 * random shape, size, depth and encoding, random headers and tokens. Properties: no crash, no 5xx (no JSON-RPC internal error), one clear error each
 * (a JSON body naming an ERR_ code, or a JSON-RPC error), no allow the quick-start policy would
 * not give, memory bounded. Short by default (a few seconds); CUSTOS_FUZZ_RUNS=N runs each
 * property N times, CUSTOS_FUZZ_SEED=S replays a run (test/fuzz/README.md).
 */
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startHarness } from '../e2e/harness.js';
import type { Harness } from '../e2e/harness.js';

const RUNS = Number(process.env.CUSTOS_FUZZ_RUNS ?? 25);
const SEED = process.env.CUSTOS_FUZZ_SEED === undefined ? undefined : Number(process.env.CUSTOS_FUZZ_SEED);
const params = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true };
/** Per-test time budget: the long mode scales with its runs. */
const TIMEOUT = Math.max(60_000, RUNS * 600);

const READ_TOOLS = [
  'read_file',
  'read_text_file',
  'read_media_file',
  'read_multiple_files',
  'list_directory',
  'directory_tree',
  'search_files',
  'get_file_info',
];
const WRITE_TOOLS = ['write_file', 'edit_file', 'create_directory', 'move_file'];
const TENANT = 'general-hospital';

/** Argument values: paths into and around the workspace (PHI, traversal, encodings), and random JSON. */
function argValue(workspace: string): fc.Arbitrary<unknown> {
  const segment = fc.constantFrom('phi', 'notes', 'public', '..', '.', '', 'patient-0001.md', 'ph%69', 'PHI', '\u0000', 'é', '~', 'tenants', 'other-hospital');
  const relPath = fc.array(segment, { maxLength: 6 }).map((s) => s.join('/'));
  const filePath = fc.oneof(
    relPath.map((p) => path.join(workspace, p)),
    relPath.map((p) => `${workspace}/${p}`),
    relPath,
    relPath.map((p) => `file://${workspace}/${p}`),
  );
  return fc.oneof(
    { weight: 4, arbitrary: filePath },
    { weight: 1, arbitrary: fc.array(filePath, { maxLength: 3 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  );
}

function argumentsArb(workspace: string): fc.Arbitrary<Record<string, unknown>> {
  const key = fc.oneof(
    fc.constantFrom('path', 'paths', 'source', 'destination', 'content', 'pattern', 'tenant', 'edits', '__proto__', 'constructor'),
    fc.string({ maxLength: 12 }),
  );
  return fc.dictionary(key, argValue(workspace), { maxKeys: 5 });
}

const toolName = fc.oneof(fc.constantFrom(...READ_TOOLS, ...WRITE_TOOLS, 'list_allowed_directories', 'delete_everything'), fc.string({ maxLength: 20 }));

/** Deep walk: every string in a JSON value, and every value under a `tenant` key. */
function walk(value: unknown, strings: string[], tenants: unknown[], depth = 0): void {
  if (depth > 200) return;
  if (typeof value === 'string') strings.push(value);
  else if (Array.isArray(value)) for (const v of value) walk(v, strings, tenants, depth + 1);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      strings.push(k);
      if (k === 'tenant') tenants.push(v);
      walk(v, strings, tenants, depth + 1);
    }
  }
}

/**
 * What the quick-start policy could allow (a necessary condition, conservative): a catalogued
 * filesystem tool (writes only for a clinician), no PHI path for a non-clinician, and no other
 * tenant named.
 */
function policyMayAllow(user: 'alice' | 'bob', server: unknown, name: unknown, args: unknown): boolean {
  if (server !== 'filesystem' || typeof name !== 'string') return false;
  const read = READ_TOOLS.includes(name) || name === 'list_allowed_directories' || name === 'list_directory_with_sizes' || name.startsWith('read_');
  if (!read && !(user === 'alice' && WRITE_TOOLS.includes(name))) return false;
  const strings: string[] = [];
  const tenants: unknown[] = [];
  walk(args, strings, tenants);
  if (user === 'bob' && strings.some((s) => s.includes('phi'))) return false;
  return tenants.every((t) => t === TENANT || typeof t !== 'string' || t === '');
}

/** One clear error: a JSON body with an ERR_ code and a message, or a JSON-RPC error. */
function expectClearError(status: number, text: string): void {
  expect(status, text.slice(0, 300)).toBeLessThan(500);
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  const { code, message } = body.error ?? {};
  expect(typeof message === 'string' && message.length > 0, text.slice(0, 300)).toBe(true);
  expect(typeof code === 'number' || (typeof code === 'string' && /^ERR_[A-Z0-9_]+$/.test(code)), text.slice(0, 300)).toBe(true);
}

/** Bodies of random shape, size, depth and encoding. */
const rawBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.uint8Array({ maxLength: 4096 }),
  fc.string({ unit: 'binary', maxLength: 2048 }),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  fc
    .integer({ min: 1, max: 200_000 })
    .map((n) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: { s: 'x'.repeat(n) } } })),
  fc
    .record({
      jsonrpc: fc.oneof(fc.constant('2.0'), fc.jsonValue()),
      id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.jsonValue()),
      method: fc.oneof(fc.constantFrom('initialize', 'tools/call', 'tools/list', 'resources/read', 'ping', 'notifications/initialized'), fc.string()),
      params: fc.jsonValue({ maxDepth: 5 }),
    })
    .map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 64 }).map((s) => Buffer.from(s, 'utf16le')),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-16',
  'text/plain',
  'application/x-www-form-urlencoded',
  '',
  'application/json; charset=latin1',
);

describe('fuzz: a real Custos under random bodies, headers and tokens', () => {
  let h: Harness;
  let tokens: { alice: string; bob: string };
  let heapBefore = 0;

  beforeAll(async () => {
    h = await startHarness();
    tokens = { alice: await h.token('alice'), bob: await h.token('bob') };
    heapBefore = process.memoryUsage().heapUsed;
  });
  afterAll(async () => h?.close());

  async function post(route: string, body: string | Uint8Array, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const res = await fetch(`${h.custos.url}${route}`, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text() };
  }

  it(
    'decision API: random bodies for alice and bob: no 5xx, one clear error, no allow the policy would not give',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('alice' as const, 'bob' as const),
          fc.oneof(
            {
              weight: 3,
              arbitrary: fc.record(
                {
                  tool: fc.record({ server: fc.oneof(fc.constant('filesystem'), fc.jsonValue()), name: toolName }),
                  arguments: argumentsArb(h.workspace),
                  agent: fc.option(fc.record({ name: fc.string(), tier: fc.option(fc.string()) }), { nil: undefined }),
                },
                { requiredKeys: [] },
              ),
            },
            { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 6 }) },
          ),
          async (user, body) => {
            const { status, text } = await post('/v1/authorize', JSON.stringify(body) ?? 'null', {
              authorization: `Bearer ${tokens[user]}`,
              'content-type': 'application/json',
            });
            if (status !== 200) return expectClearError(status, text);
            const answer = JSON.parse(text) as { decision: string };
            expect(['allow', 'deny', 'confirm']).toContain(answer.decision);
            if (answer.decision === 'allow') {
              const b = body as { tool?: { server?: unknown; name?: unknown }; arguments?: unknown };
              expect(policyMayAllow(user, b.tool?.server, b.tool?.name, b.arguments), `allowed for ${user}: ${JSON.stringify(body)}`).toBe(true);
            }
          },
        ),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'raw bodies of random size, depth and encoding to /mcp and /v1/authorize: no 5xx, one clear error',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('/mcp', '/v1/authorize'), rawBody, contentType, async (route, body, type) => {
          const headers: Record<string, string> = { authorization: `Bearer ${tokens.alice}`, accept: 'application/json, text/event-stream' };
          if (type !== '') headers['content-type'] = type;
          const { status, text } = await post(route, body, headers);
          if (status >= 400 || route === '/v1/authorize') {
            if (status === 200) return; // a random body that happened to be a valid decision request
            return expectClearError(status, text);
          }
          // /mcp 2xx: a JSON-RPC answer (or SSE carrying one); never an internal error.
          expect(text).not.toContain('"code":-32603');
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'JSON-RPC bodies of random shape into an open MCP session (batches, notifications, answers, known methods with random params): no 5xx, no internal error',
    async () => {
      const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
      const opened = await fetch(h.mcpUrl, {
        method: 'POST',
        headers: { ...base, authorization: `Bearer ${tokens.bob}` },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 0,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
        }),
      });
      const session = opened.headers.get('mcp-session-id')!;
      await opened.text();
      const headers = { ...base, authorization: `Bearer ${tokens.bob}`, 'mcp-session-id': session };
      await post('/mcp', JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers);
      const method = fc.oneof(
        fc.constantFrom(
          'tools/call',
          'tools/list',
          'resources/list',
          'resources/read',
          'resources/subscribe',
          'prompts/list',
          'prompts/get',
          'logging/setLevel',
          'completion/complete',
          'ping',
          'initialize',
          'notifications/cancelled',
          'notifications/progress',
        ),
        fc.string({ maxLength: 24 }),
      );
      const rpcParams = fc.oneof(
        fc.record({ name: toolName.map((n) => `filesystem__${n}`), arguments: argumentsArb(h.workspace) }, { requiredKeys: [] }),
        fc.record({ uri: fc.oneof(fc.string(), fc.constant('filesystem://x')), level: fc.string(), requestId: fc.jsonValue() }, { requiredKeys: [] }),
        fc.jsonValue({ maxDepth: 5 }),
      );
      const message = fc.oneof(
        fc.record(
          { jsonrpc: fc.constant('2.0'), id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), method, params: rpcParams },
          { requiredKeys: ['jsonrpc', 'method'] },
        ),
        fc.record({ jsonrpc: fc.constant('2.0'), id: fc.oneof(fc.integer(), fc.string()), result: fc.jsonValue({ maxDepth: 3 }) }),
        fc.record({ jsonrpc: fc.constant('2.0'), id: fc.integer(), error: fc.record({ code: fc.integer(), message: fc.string() }) }),
        fc.jsonValue({ maxDepth: 4 }),
      );
      const body = fc.oneof({ weight: 3, arbitrary: message }, { weight: 1, arbitrary: fc.array(message, { maxLength: 4 }) });
      await fc.assert(
        fc.asyncProperty(body, async (value) => {
          const { status, text } = await post('/mcp', JSON.stringify(value) ?? 'null', headers);
          expect(text, text.slice(0, 300)).not.toContain('"code":-32603');
          if (status >= 400) return expectClearError(status, text);
          expect(status, text.slice(0, 300)).toBeLessThan(300);
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'decision API results: random bodies to /v1/results (unknown, foreign and malformed request ids, outputs of any shape): no 5xx, one clear error',
    async () => {
      const allowed = (await post(
        '/v1/authorize',
        JSON.stringify({ tool: { server: 'filesystem', name: 'read_text_file' }, arguments: { path: path.join(h.workspace, 'notes/handbook.md') } }),
        {
          authorization: `Bearer ${tokens.alice}`,
          'content-type': 'application/json',
        },
      )) as { status: number; text: string };
      const live = (JSON.parse(allowed.text) as { request_id: string }).request_id;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('alice' as const, 'bob' as const),
          fc.oneof(
            fc.record(
              {
                request_id: fc.oneof(fc.constant(live), fc.uuid(), fc.string(), fc.jsonValue()),
                output: fc.jsonValue({ maxDepth: 6 }),
                error: fc.option(fc.jsonValue()),
              },
              { requiredKeys: [] },
            ),
            fc.jsonValue({ maxDepth: 6 }),
          ),
          async (user, body) => {
            const { status, text } = await post('/v1/results', JSON.stringify(body) ?? 'null', {
              authorization: `Bearer ${tokens[user]}`,
              'content-type': 'application/json',
            });
            if (status === 200) {
              // Only alice's own live authorization completes, once.
              expect(user, text.slice(0, 300)).toBe('alice');
              expect((body as { request_id?: unknown }).request_id).toBe(live);
              return;
            }
            expectClearError(status, text);
          },
        ),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    'random bearer tokens and headers: refused with an identity error, never admitted, never a 5xx',
    async () => {
      const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : (JSON.stringify(v) ?? '')).toString('base64url');
      const jwtLike = fc
        .tuple(
          fc.oneof(
            fc.record({
              alg: fc.constantFrom('none', 'HS256', 'ES256', 'RS256', ''),
              kid: fc.option(fc.string()),
              typ: fc.option(fc.string()),
              crit: fc.option(fc.array(fc.string())),
            }),
            fc.jsonValue(),
          ),
          fc.oneof(
            fc.record({
              iss: fc.oneof(fc.constant(h.issuer), fc.string()),
              sub: fc.string(),
              aud: fc.oneof(fc.constant(h.mcpUrl), fc.jsonValue()),
              exp: fc.oneof(fc.integer(), fc.jsonValue()),
            }),
            fc.jsonValue(),
          ),
          fc.string({ maxLength: 100 }),
        )
        .map(([head, payload, sig]) => `${b64(head)}.${b64(payload)}.${b64(sig)}`);
      // A real token with one character changed (the signature no longer verifies).
      const tampered = fc.nat().map((i) => {
        const t = tokens.alice;
        const at = i % t.length;
        const c = t[at] === 'A' ? 'B' : 'A';
        return t.slice(0, at) + c + t.slice(at + 1);
      });
      const header = fc.oneof(
        jwtLike.map((t) => `Bearer ${t}`),
        tampered.filter((t) => t !== tokens.alice).map((t) => `Bearer ${t}`),
        fc.string({ maxLength: 200 }).map((t) => `Bearer ${t}`),
        fc.string({ maxLength: 200 }),
        fc.integer({ min: 16_000, max: 40_000 }).map((n) => `Bearer ${'a'.repeat(n)}`),
        fc.constantFrom('Basic YWxpY2U6', 'bearer', 'Bearer ', 'Bearer a.b.c', 'Bearer ..'),
      );
      const extra = fc.dictionary(
        fc.constantFrom('mcp-session-id', 'x-custos-agent-tier', 'traceparent', 'mcp-protocol-version', 'x-forwarded-for', 'content-length-x'),
        fc.string({ maxLength: 80 }),
        { maxKeys: 3 },
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('/mcp', '/v1/authorize'), header, extra, async (route, authorization, more) => {
          const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...more };
          try {
            new Headers({ authorization });
            headers.authorization = authorization;
          } catch {
            // not a legal header value: fetch would refuse to send it; send none
          }
          for (const k of Object.keys(more)) {
            try {
              new Headers({ [k]: more[k]! });
            } catch {
              delete headers[k];
            }
          }
          const body =
            route === '/mcp'
              ? { jsonrpc: '2.0', id: 1, method: 'tools/list' }
              : { tool: { server: 'filesystem', name: 'read_text_file' }, arguments: { path: path.join(h.workspace, 'phi/patient-0001.md') } };
          const { status, text } = await post(route, JSON.stringify(body), headers);
          expect([400, 401, 413, 429, 431], text.slice(0, 200)).toContain(status);
          // 431: Node's HTTP parser refuses headers past its 16 KB limit before Custos sees them.
          if (status !== 431) expectClearError(status, text);
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    "MCP tools/call with random names and arguments in bob's session: nothing PHI reaches the tool, no internal error",
    async () => {
      const client: Client = await h.connect(tokens.bob, 'fuzz');
      const before = h.upstreamCalls().length;
      try {
        await fc.assert(
          fc.asyncProperty(toolName, argumentsArb(h.workspace), async (name, args) => {
            try {
              await client.callTool({ name: `filesystem__${name}`, arguments: args });
            } catch (err) {
              expect(err).toBeInstanceOf(McpError);
              expect((err as McpError).code).not.toBe(-32603);
            }
          }),
          params,
        );
      } finally {
        await client.close();
      }
      for (const call of h.upstreamCalls().slice(before)) {
        expect(policyMayAllow('bob', 'filesystem', call.name, call.arguments), `reached the tool for bob: ${JSON.stringify(call)}`).toBe(true);
      }
    },
    TIMEOUT,
  );

  it('kept memory bounded', () => {
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    expect(grownMb).toBeLessThan(256);
  });
});
