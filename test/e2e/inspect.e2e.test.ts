/**
 * Inspect completely or deny, bounded input at every door (issue 7, defects 1, 2 and 6), end
 * to end: the real filesystem upstream, the real identity provider, the official SDK client.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

type TextResult = { isError?: boolean; content: Array<{ type: string; text?: string }> };
const textOf = (r: unknown): string => (r as TextResult).content.map((c) => c.text ?? '').join('\n');

function custos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/custos.js'), ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** JSON text nested `depth` levels deep (as text: JSON.stringify itself overflows at this depth). */
function deepJson(depth: number): string {
  return `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
}

describe('inspect completely or deny, end to end', () => {
  let h: Harness;
  let bob: string;
  let note: string;
  const agent = { name: 'e2e-agent' };

  beforeAll(async () => {
    h = await startHarness();
    bob = await h.token('bob');
    note = path.join(h.workspace, 'phi/patient-0001.md');
  });
  afterAll(async () => h?.close());

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read arbitrary JSON replies
  async function post(route: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, any> }> {
    const res = await fetch(`${h.custos.url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${bob}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  }

  async function rowsAfter(fn: () => Promise<unknown>): Promise<AuditRecord[]> {
    const before = (await h.auditRecords()).length;
    await fn();
    return (await h.auditRecords()).slice(before);
  }

  const padded = () => [...Array.from({ length: 1000 }, () => path.join(h.workspace, 'notes/handbook.md')), note];

  it('MCP: bob cannot read a patient note by padding read_multiple_files with 1,000 harmless paths', async () => {
    const client = await h.connect(bob);
    const before = h.upstreamCalls().length;
    let result: unknown;
    const rows = await rowsAfter(async () => {
      result = await client.callTool({ name: 'filesystem__read_multiple_files', arguments: { paths: padded() } });
    });
    expect((result as TextResult).isError).toBe(true);
    expect(textOf(result)).toContain('phi_requires_clinician');
    expect(textOf(result)).not.toMatch(/Date of birth|123-45-6789/i);
    expect(h.upstreamCalls().slice(before)).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'deny', user: { sub: 'bob' }, data_classes: ['phi'], policy: { decision: 'deny' } });
  });

  it('decision API: the same padded arguments are denied, and so is a PHI path under any argument name', async () => {
    const padding = await post('/v1/authorize', { tool: { server: 'filesystem', name: 'read_multiple_files' }, arguments: { paths: padded() }, agent });
    expect(padding.status).toBe(200);
    expect(padding.json.decision).toBe('deny');
    expect(padding.json.reasons).toContain('phi_requires_clinician');
    const rows = await rowsAfter(async () => {
      const th = await post('/v1/authorize', { tool: { server: 'filesystem', name: 'read_text_file' }, arguments: { th: note }, agent });
      expect(th.json.decision).toBe('deny');
    });
    expect(rows[0]).toMatchObject({ event: 'deny', data_classes: ['phi'] });
  });

  it('decision API: a misspelt field is a 400, not a call without arguments', async () => {
    const rows = await rowsAfter(async () => {
      const res = await post('/v1/authorize', { tool: { server: 'filesystem', name: 'read_text_file' }, argumnts: { path: note }, agent });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('ERR_GATEWAY_BAD_REQUEST');
    });
    expect(rows).toEqual([]);
  });

  it('MCP: arguments that do not match the tool inputSchema are a JSON-RPC invalid-params error and a deny row', async () => {
    const client = await h.connect(bob);
    const before = h.upstreamCalls().length;
    let error: unknown;
    const rows = await rowsAfter(async () => {
      error = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: 42 } }).catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32602);
    expect(h.upstreamCalls().slice(before)).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'deny', policy: { reasons: ['arguments_invalid'] } });
  });

  it('arguments nested 6,000 deep on all three doors: 400 / JSON-RPC errors, one deny row each, and the trail verifies and exports', async () => {
    const client = await h.connect(bob);
    const sessionId = (client.transport as { sessionId?: string } | undefined)?.sessionId ?? '';
    const allowed = await post('/v1/authorize', {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: path.join(h.workspace, 'notes/handbook.md') },
      agent,
      request_id: 'deep-results-1',
    });
    expect(allowed.json.decision).toBe('allow');

    const doors: Array<[string, string, Record<string, string>]> = [
      ['/v1/authorize', `{"tool":{"server":"filesystem","name":"read_text_file"},"agent":{"name":"e2e-agent"},"arguments":{"path":${deepJson(6000)}}}`, {}],
      ['/v1/results', `{"request_id":"deep-results-1","output":${deepJson(6000)}}`, {}],
      [
        '/mcp',
        `{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"filesystem__read_text_file","arguments":{"path":${deepJson(6000)}}}}`,
        { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
      ],
    ];
    for (const [route, body, headers] of doors) {
      const rows = await rowsAfter(async () => {
        const res = await post(route, body, headers);
        expect(res.status, route).toBe(400);
        const code = route === '/mcp' ? res.json.error.data.code : res.json.error.code;
        expect(code, route).toBe('ERR_INPUT_TOO_COMPLEX');
        if (route === '/mcp') expect(res.json.error.code).toBe(-32602);
      });
      expect(rows, route).toHaveLength(1);
      expect(rows[0], route).toMatchObject({
        event: 'deny',
        user: { sub: 'bob' },
        policy: { reasons: ['arguments_too_complex'] },
        input: { redacted: '[redacted:too_complex]' },
        detail: { limit: 'maxDepth', max: 64 },
      });
    }
    // The session still works after the refusal.
    const ok = await client.callTool({ name: 'filesystem__list_allowed_directories', arguments: {} });
    expect(ok.isError).toBeFalsy();

    const verify = custos('audit', 'verify', '--store', h.storeUri);
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    const exported = custos('audit', 'export', '--store', h.storeUri);
    expect(exported.status).toBe(0);
    expect(exported.stdout.trim().split('\n').length).toBe((await h.auditRecords()).length);
  });
});
