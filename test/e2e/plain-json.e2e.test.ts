/**
 * Issue 8, item 6: a plain `tools/call` (no progress asked, a client that can neither be
 * asked to confirm nor relay sampling) is answered as one application/json body; anything
 * that can lead to a stream still gets SSE. The invariants hold on the plain path: nothing
 * is forwarded before the intent row is durable, and a failed append denies.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdExclusiveLock } from '../../src/audit/index.test-support.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

const READ = 'filesystem__read_text_file';

describe('plain JSON answers on the MCP door', () => {
  let h: Harness;
  let alice: string;
  const clients: Client[] = [];
  beforeAll(async () => {
    h = await startHarness();
    alice = await h.token('alice');
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await h?.close();
  });

  /** An official SDK client whose tools/call answers' content types are recorded. */
  async function connect(capabilities: ConstructorParameters<typeof Client>[1] = {}): Promise<{ client: Client; types: string[] }> {
    const types: string[] = [];
    const record: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const body = typeof init?.body === 'string' ? init.body : '';
      if (body.includes('"tools/call"')) types.push(res.headers.get('content-type') ?? '');
      return res;
    };
    const transport = new StreamableHTTPClientTransport(new URL(h.custos.mcpUrl), {
      fetch: record,
      requestInit: { headers: { Authorization: `Bearer ${alice}` } },
    });
    const client = new Client({ name: 'plain-json-e2e', version: '1.0.0' }, capabilities);
    await client.connect(transport);
    clients.push(client);
    return { client, types };
  }

  it('answers a plain tools/call as application/json, with both rows in the trail', async () => {
    const { client, types } = await connect();
    const before = h.upstreamCalls().length;
    const result = await client.callTool({ name: READ, arguments: { path: `${h.workspace}/notes/handbook.md` } });
    expect(result.isError).toBeFalsy();
    expect(types).toEqual(['application/json']);
    expect(h.upstreamCalls().slice(before)).toMatchObject([{ method: 'tools/call', name: 'read_text_file' }]);
    const rows = (await h.auditRecords()).filter((r) => r.tool?.name === 'read_text_file');
    const last = rows[rows.length - 1]!;
    expect(rows.filter((r) => r.request_id === last.request_id).map((r) => r.event)).toEqual(['intent', 'result']);
  });

  it('answers with SSE when the call asks for progress, or the client can be asked to confirm or sample', async () => {
    const plainClient = await connect();
    await plainClient.client.callTool({ name: READ, arguments: { path: `${h.workspace}/notes/handbook.md` } }, undefined, { onprogress: () => undefined });
    expect(plainClient.types).toEqual(['text/event-stream']);
    for (const capabilities of [{ elicitation: {} }, { sampling: {} }]) {
      const { client, types } = await connect({ capabilities });
      const result = await client.callTool({ name: READ, arguments: { path: `${h.workspace}/notes/handbook.md` } });
      expect(result.isError).toBeFalsy();
      expect(types).toEqual(['text/event-stream']);
    }
  });

  it('denies a plain call whose intent row cannot be written, and drops its upstream output', async () => {
    const { client, types } = await connect();
    const path = `${h.workspace}/notes/handbook.md`;
    await client.callTool({ name: READ, arguments: { path } }); // warm
    const before = h.upstreamCalls().length;
    const lock = await holdExclusiveLock(h.storeFile, 5000);
    let outcome: string;
    let streamed: string;
    let streamedUpstream: unknown[];
    try {
      // A call that asked for progress could hear from the upstream mid-call: it waits for its intent row, so it never runs.
      const progress = await connect();
      streamed = await progress.client.callTool({ name: READ, arguments: { path } }, undefined, { onprogress: () => undefined }).then(
        (r) => (r.isError ? JSON.stringify(r.content) : 'answered'),
        (e: Error) => e.message,
      );
      streamedUpstream = h.upstreamCalls().slice(before);
      outcome = await client.callTool({ name: READ, arguments: { path } }).then(
        (r) => (r.isError ? JSON.stringify(r.content) : 'answered'),
        (e: Error) => e.message,
      );
    } finally {
      await lock.release();
    }
    expect(streamed).toMatch(/audit/i);
    expect(streamedUpstream).toEqual([]);
    expect(outcome).toMatch(/audit/i);
    expect(outcome).not.toContain('Front desk');
    expect(types).toEqual(['application/json', 'application/json']);
    // read_text_file is read-only: it ran upstream while its intent row was tried, and its output went nowhere.
    expect(
      h
        .upstreamCalls()
        .slice(before)
        .map((c) => c.name),
    ).toEqual(['read_text_file']);
  });
});
