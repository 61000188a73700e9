/**
 * Tiers end to end, each derived from the credential: a background runner (alice's standing
 * grant + the runner's own client-credentials token, exchanged at Custos), an API caller
 * (token exchange by a client listed in delegation.apiClients), and what happens when either
 * declares a tier its credential does not carry: denied, with a deny row and an alert row.
 */
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const GRANT = 'urn:custos:params:oauth:token-type:background-grant';

type Json = Record<string, unknown>;

async function exchange(h: Harness, form: Record<string, string>): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${h.custos.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: EXCHANGE, actor_token_type: ACCESS, ...form }),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

describe('tiers derived from the credential', () => {
  let h: Harness;
  let alice: string;
  let runner: string;
  let note: string;

  beforeAll(async () => {
    h = await startHarness({
      configure: (raw) => ({ ...raw, identity: { ...raw.identity, delegation: { apiClients: ['billing-api'] } } }),
    });
    [alice, runner] = await Promise.all([h.token('alice'), h.agentToken('nightly-runner')]);
    note = path.join(h.workspace, 'notes/handbook.md');
  });
  afterAll(async () => h?.close());

  async function grantFor(clientId: string): Promise<Json> {
    const created = await post(`${h.custos.url}/v1/grants/background`, alice, { client_id: clientId, scope: 'mcp', ttl_sec: 3600 });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body;
  }

  async function backgroundToken(): Promise<string> {
    const grant = await grantFor('nightly-runner');
    const { status, body } = await exchange(h, { subject_token: grant.grant_token as string, subject_token_type: GRANT, actor_token: runner });
    expect(status, JSON.stringify(body)).toBe(200);
    return body.access_token as string;
  }

  it('denies a background runner that declares itself interactive over MCP, with a deny row and an alert row', async () => {
    const token = await backgroundToken();
    const client = new Client({ name: 'nightly-runner', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(h.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${token}`, 'x-custos-agent-tier': 'interactive' } },
      }),
    );
    const before = h.upstreamCalls().length;
    try {
      const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: note } });
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain('tier_mismatch');
    } finally {
      await client.close();
    }
    expect(h.upstreamCalls().slice(before)).toEqual([]);
    const records = await h.auditRecords();
    const deny = records.filter((r) => r.event === 'deny').at(-1)!;
    expect(deny.user.sub).toBe('alice');
    expect(deny.policy.reasons).toEqual(['tier_mismatch']);
    expect(deny.agent).toMatchObject({
      tier: 'background',
      declared_tier: 'interactive',
      delegation_chain: ['user:alice', 'agent:nightly-runner', 'tool:filesystem/read_text_file'],
    });
    const alert = records.filter((r) => r.event === 'alert').at(-1)!;
    expect(alert.alert).toMatchObject({ type: 'tier_mismatch', severity: 'high' });
    expect(alert.user.sub).toBe('alice');
    expect(alert.request_id).toBe(deny.request_id);
  });

  it('lets the runner read as background when it says so (and the trail says background)', async () => {
    const token = await backgroundToken();
    const decision = await post(`${h.custos.url}/v1/authorize`, token, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: note },
      agent: { name: 'nightly-runner', tier: 'background' },
    });
    expect(decision.body.decision).toBe('allow');
    const intent = (await h.auditRecords()).find((r) => r.request_id === decision.body.request_id)!;
    expect(intent.agent).toMatchObject({ tier: 'background', delegation_chain: ['user:alice', 'agent:nightly-runner', 'tool:filesystem/read_text_file'] });
    const write = await post(`${h.custos.url}/v1/authorize`, token, {
      tool: { server: 'filesystem', name: 'write_file' },
      arguments: { path: note, content: 'x' },
      agent: { name: 'nightly-runner' },
    });
    expect(write.body).toMatchObject({ decision: 'deny', reasons: ['write_requires_interactive_tier'] });
  });

  it('refuses a grant presented by another runner, and a revoked grant', async () => {
    const grant = await grantFor('nightly-runner');
    const other = await exchange(h, {
      subject_token: grant.grant_token as string,
      subject_token_type: GRANT,
      actor_token: await h.agentToken('research-agent'),
    });
    expect(other).toMatchObject({ status: 400, body: { error: 'invalid_grant', reason: 'actor_not_grantee' } });
    const denied = (await h.auditRecords()).filter((r) => r.event === 'deny').at(-1)!;
    expect(denied.user.sub).toBe('alice');
    expect(denied.policy.reasons).toEqual(['delegation_actor_not_grantee']);

    expect((await post(`${h.custos.url}/v1/grants/background/revoke`, alice, { grant_id: grant.grant_id })).status).toBe(200);
    const revoked = await exchange(h, { subject_token: grant.grant_token as string, subject_token_type: GRANT, actor_token: runner });
    expect(revoked).toMatchObject({ status: 400, body: { error: 'invalid_grant', reason: 'grant_revoked' } });
  });

  it('only the user with an interactive token can create a grant', async () => {
    const token = await backgroundToken();
    const refused = await post(`${h.custos.url}/v1/grants/background`, token, { client_id: 'nightly-runner' });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: { code: 'ERR_IDENTITY_DELEGATION_INVALID', detail: { reason: 'grant_requires_interactive' } } });
    const row = (await h.auditRecords()).filter((r) => r.event === 'deny').at(-1)!;
    expect(row.user.sub).toBe('alice');
    expect(row.policy.reasons).toEqual(['delegation_grant_requires_interactive']);
    const widened = await post(`${h.custos.url}/v1/grants/background`, alice, { client_id: 'nightly-runner', scope: 'mcp admin' });
    expect(widened).toMatchObject({ status: 400, body: { error: { detail: { reason: 'scope_widened' } } } });
    const widenedRow = (await h.auditRecords()).filter((r) => r.event === 'deny').at(-1)!;
    expect(widenedRow).toMatchObject({ user: { sub: 'alice' }, policy: { reasons: ['delegation_scope_widened'] } });
  });

  it('gives a listed API client acting for bob the api tier, and denies it when it claims to be a sub-agent', async () => {
    const bob = await h.token('bob');
    const { status, body } = await exchange(h, { subject_token: bob, subject_token_type: ACCESS, actor_token: await h.agentToken('billing-api') });
    expect(status, JSON.stringify(body)).toBe(200);
    const token = body.access_token as string;
    const ok = await post(`${h.custos.url}/v1/authorize`, token, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: note },
      agent: { name: 'billing-api', tier: 'api' },
    });
    expect(ok.body.decision).toBe('allow');
    const row = (await h.auditRecords()).find((r: AuditRecord) => r.request_id === ok.body.request_id)!;
    expect(row.user.sub).toBe('bob');
    expect(row.agent).toMatchObject({ tier: 'api', delegation_chain: ['user:bob', 'agent:billing-api', 'tool:filesystem/read_text_file'] });
    const lying = await post(`${h.custos.url}/v1/authorize`, token, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: note },
      agent: { name: 'billing-api', tier: 'subagent' },
    });
    expect(lying.body).toMatchObject({ decision: 'deny', reasons: ['tier_mismatch'] });
    const alert = (await h.auditRecords()).filter((r) => r.event === 'alert').at(-1)!;
    expect(alert).toMatchObject({ user: { sub: 'bob' }, alert: { type: 'tier_mismatch' }, agent: { tier: 'api', declared_tier: 'subagent' } });
  });
});
