/**
 * Three `custos serve` replicas on one PostgreSQL behind HAProxy (round-robin, no affinity):
 * an MCP session moves freely between them and outlives the `kill -9` of a replica; a session
 * id used with another user's token is refused on a replica that never held it (and an alert
 * row names the caller); revoking a user on one replica ends her sessions on every replica
 * that holds one; the shared rate limit and the trail behave as with one replica (the chain
 * verifies, one intent row per call answered). A decision-API authorization given on one replica
 * is completed (or its hold answered) on another, once, even when two replicas race for it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/audit/index.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { DEMO_USERS, extendQuickstartBundle, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';
import { startPostgres } from './postgres.js';
import type { TestPostgres } from './postgres.js';

const CAROL = { username: 'carol', sub: 'carol', email: 'carol@example.test', roles: ['custos-admin'], tenant: 'general-hospital' };
const READS_PER_MINUTE = 30;

const sessionOf = (client: Client): string => (client.transport as StreamableHTTPClientTransport).sessionId!;

/** One raw MCP request to `url`/mcp (a replica past the balancer, or the balancer). */
async function mcpPost(url: string, token: string, session: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': session,
      'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

describe('three replicas behind HAProxy on one PostgreSQL', () => {
  let db: TestPostgres;
  let h: Harness;
  let handbook: string;
  let answered = 0;
  const read = async (client: Client): Promise<void> => {
    const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } });
    answered++;
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  };

  beforeAll(async () => {
    db = await startPostgres();
    const bundle = extendQuickstartBundle(mkdtempSync(path.join(tmpdir(), 'custos-rl-')), {});
    writeFileSync(
      path.join(bundle, 'bundle.yaml'),
      `name: quickstart\nversion: 1\nmode: enforce\nrateLimits:\n  - { id: reads, per: [user], classes: [read], perMinute: ${READS_PER_MINUTE} }\n`,
    );
    h = await startHarness({
      replicas: 3,
      tap: false,
      users: [...DEMO_USERS, CAROL],
      bundleDir: bundle,
      busyTimeoutMs: 10_000,
      configure: (raw) => ({ ...raw, audit: { ...raw.audit, store: db.url } }),
    });
    handbook = path.join(h.workspace, 'notes/handbook.md');
  }, 240_000);
  afterAll(async () => {
    await h?.close();
    await db?.stop();
  });

  it('continue a session on any replica, and after the replica that started it is killed', async () => {
    const client = await h.connect(await h.token('alice'));
    for (let i = 0; i < 6; i++) await read(client); // round-robin: every replica serves it
    await h.replicaProcesses[0]!.kill!();
    for (let i = 0; i < 6; i++) await read(client);
  }, 120_000);

  it("refuse a session id with another user's token on a replica that never held it, with an alert row naming the caller", async () => {
    const [alice, bob] = await Promise.all([h.token('alice'), h.token('bob')]);
    // alice opens a session on replica 1 directly, so replica 2 has never seen it
    const init = await fetch(`${h.replicaUrls[1]}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'thief-test', version: '1' } },
      }),
    });
    expect(init.status).toBe(200);
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'filesystem__read_text_file', arguments: { path: handbook } } };
    const stolen = await mcpPost(h.replicaUrls[2]!, bob, session, call);
    expect(stolen.status).toBe(403);
    expect(stolen.text).toContain('ERR_IDENTITY_SESSION_MISMATCH');
    const rows = await h.auditRecords();
    expect(rows.some((r) => r.event === 'alert' && r.user.sub === 'bob' && JSON.stringify(r).includes('session_mismatch'))).toBe(true);
    // the owner continues it on that replica (taken over from the store)
    const owned = await mcpPost(h.replicaUrls[2]!, alice, session, call);
    expect(owned.status, owned.text).toBe(200);
    answered++;
    expect(owned.text).not.toContain('"isError":true');
  }, 60_000);

  it('share one rate-limit count across the replicas', async () => {
    const client = await h.connect(await h.token('bob'));
    const billing = path.join(h.workspace, 'notes/billing-codes.csv');
    const results = [];
    for (let i = 0; i < READS_PER_MINUTE + 10; i += 5) {
      const batch = Array.from({ length: 5 }, () => client.callTool({ name: 'filesystem__read_text_file', arguments: { path: billing } }));
      results.push(...(await Promise.all(batch)));
    }
    const allowed = results.filter((r) => !r.isError);
    answered += allowed.length;
    expect(allowed).toHaveLength(READS_PER_MINUTE);
    for (const r of results.filter((x) => x.isError)) expect(JSON.stringify(r.content)).toContain('rate_limited');
  }, 120_000);

  it('take a decision-API authorization to completion on another replica, once: a second completion is refused, even racing', async () => {
    const alice = await h.token('alice');
    const [one, two] = [h.replicaUrls[1]!, h.replicaUrls[2]!]; // the live replicas, past the balancer
    const authorize = (url: string, requestId: string) =>
      post(`${url}/v1/authorize`, alice, {
        tool: { server: 'filesystem', name: 'read_text_file' },
        arguments: { path: handbook },
        agent: { name: 'framework' },
        request_id: requestId,
      });
    const complete = (url: string, requestId: string) =>
      post(`${url}/v1/results`, alice, { request_id: requestId, output: { content: [{ type: 'text', text: 'handbook' }] } });

    expect((await authorize(one, 'api-across')).body).toMatchObject({ decision: 'allow', request_id: 'api-across' });
    answered++;
    const done = await complete(two, 'api-across');
    expect(done.status, JSON.stringify(done.body)).toBe(200); // before: 404, the authorization lived in replica one's memory
    const again = await complete(one, 'api-across');
    expect(again.status).toBe(404);
    expect(again.body).toMatchObject({ error: { code: 'ERR_GATEWAY_NOT_FOUND' } });

    // Two completions racing on two replicas: exactly one is recorded.
    expect((await authorize(two, 'api-race')).body).toMatchObject({ decision: 'allow' });
    answered++;
    const raced = await Promise.all([complete(one, 'api-race'), complete(two, 'api-race'), complete(one, 'api-race'), complete(two, 'api-race')]);
    expect(raced.map((r) => r.status).sort()).toEqual([200, 404, 404, 404]);

    // Through the balancer (round-robin: each leg on the next replica), a few in a row.
    for (let i = 0; i < 3; i++) {
      expect((await authorize(h.custos.url, `api-lb-${i}`)).body).toMatchObject({ decision: 'allow' });
      answered++;
      expect((await complete(h.custos.url, `api-lb-${i}`)).status).toBe(200);
    }
    const rows = await h.auditRecords();
    for (const id of ['api-across', 'api-race', 'api-lb-0', 'api-lb-1', 'api-lb-2'])
      expect(rows.filter((r) => r.request_id === id).map((r) => r.event)).toEqual(['intent', 'result']);
  }, 60_000);

  it("list a hold made on one replica in every replica's pending confirmations, and answer it on another", async () => {
    const [alice, carol] = await Promise.all([h.token('alice'), h.token('carol')]);
    const [one, two] = [h.replicaUrls[1]!, h.replicaUrls[2]!];
    const source = path.join(h.workspace, 'notes', 'to-move.md');
    writeFileSync(source, 'move me\n');
    const move = {
      tool: { server: 'filesystem', name: 'move_file' },
      arguments: { source, destination: `${source}.moved` },
      agent: { name: 'framework' },
      request_id: 'api-held',
    };
    expect((await post(`${one}/v1/authorize`, alice, move)).body).toMatchObject({ decision: 'confirm' });
    const listed = await fetch(`${two}/v1/confirmations/pending`, { headers: { authorization: `Bearer ${carol}` } });
    expect(listed.status).toBe(200);
    const list = (await listed.json()) as { scope: unknown; pending: Array<{ request_id: string; channel: string }> };
    expect(list.scope).toEqual({ api: 'all_replicas', mcp_elicitation: 'replica' });
    expect(list.pending).toContainEqual(expect.objectContaining({ request_id: 'api-held', channel: 'api' }));
    const accepted = await post(`${two}/v1/confirmations`, alice, { request_id: 'api-held', outcome: 'accepted' });
    expect(accepted.body).toMatchObject({ decision: 'allow' });
    answered++; // the accepted hold's intent row
    // Answered once: a second answer, on another replica, finds the call allowed, no longer held.
    expect((await post(`${one}/v1/confirmations`, alice, { request_id: 'api-held', outcome: 'declined' })).body).toMatchObject({
      error: { code: 'ERR_GATEWAY_CONFLICT' },
    });
    expect((await post(`${one}/v1/results`, alice, { request_id: 'api-held', output: { moved: true } })).status).toBe(200);
  }, 60_000);

  it("end a revoked user's session on every replica that holds it, within a second", async () => {
    const client = await h.connect(await h.token('alice'));
    for (let i = 0; i < 4; i++) await read(client); // the two live replicas both hold it now
    const session = sessionOf(client);
    const revoked = await fetch(`${h.replicaUrls[1]}/v1/admin/sessions/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token('carol')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ iss: h.issuer, sub: 'alice' }),
    });
    expect(revoked.status).toBe(200);
    const started = Date.now();
    let ended: AuditRecord[] = [];
    while (Date.now() - started < 10_000) {
      ended = (await h.auditRecords()).filter((r) => r.event === 'admin' && JSON.stringify(r.detail).includes(session));
      if (ended.length >= 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const elapsed = Date.now() - started;
    expect(ended).toHaveLength(2); // one row per live replica that held it
    expect(elapsed).toBeLessThan(5_000); // the docs' bound is a second; the machine is loaded
    // The measurement (docs/performance.md): from the revoke's answer to both replicas' rows in the trail (polled every 25 ms).
    console.log(`revocation across replicas: both live replicas ended the session ${elapsed} ms after the revoke was answered`);
    // with a token issued after the revocation, the session is gone everywhere
    await new Promise((r) => setTimeout(r, 1100)); // iat has one-second resolution
    const fresh = await h.token('alice');
    for (const url of h.replicaUrls.slice(1)) {
      const after = await mcpPost(url, fresh, session, { jsonrpc: '2.0', id: 9, method: 'tools/list', params: {} });
      expect(after.status, after.text).toBe(404);
    }
  }, 120_000);

  it('keep the trail whole: the chain verifies and every call answered has its intent row', async () => {
    expect(await verifyStore(db.url)).toMatchObject({ ok: true });
    const intents = (await h.auditRecords()).filter((r) => r.event === 'intent');
    expect(intents).toHaveLength(answered);
  }, 60_000);
});
