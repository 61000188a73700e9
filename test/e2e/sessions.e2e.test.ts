/**
 * Sessions end to end (CC6.1, 164.312(a)(2)(iii), 164.312(d)): an admin revokes alice's
 * session, the dev provider logs her out over the OIDC back channel, an idle session is
 * logged off. Every refusal is a row under alice naming the reason; every revocation is an
 * admin row naming who did it and the target.
 */
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/gateway/fakes.test-support.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { DEMO_USERS, DEV_CLIENT_ID, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const CAROL = { username: 'carol', sub: 'carol', email: 'carol@example.test', roles: ['custos-admin'], tenant: 'general-hospital' };

async function delegate(h: Harness, subject: string, actor: string): Promise<string> {
  const response = await fetch(`${h.custos.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: EXCHANGE, subject_token: subject, subject_token_type: ACCESS, actor_token: actor, actor_token_type: ACCESS }),
  });
  const body = (await response.json()) as { access_token?: string };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.access_token!;
}

const sidOf = (token: string): string => String(decodeJwt(token).sid);
const mcpSessionOf = (client: Client): string => (client.transport as StreamableHTTPClientTransport).sessionId!;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rows = (records: AuditRecord[], after: number, event?: string): AuditRecord[] => records.filter((r) => r.seq > after && (!event || r.event === event));

describe('session revocation and back-channel logout', () => {
  let h: Harness;
  let carol: string;
  let handbook: string;
  const authorize = (token: string) =>
    post(`${h.custos.url}/v1/authorize`, token, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: handbook },
      agent: { name: 'framework-agent' },
    });
  const revoke = (token: string, body: unknown) => post(`${h.custos.url}/v1/admin/sessions/revoke`, token, body);
  const head = async (): Promise<number> => (await h.auditRecords()).at(-1)?.seq ?? 0;

  beforeAll(async () => {
    h = await startHarness({
      users: [...DEMO_USERS, CAROL],
      backchannelLogout: true,
      configure: (raw) => ({
        ...raw,
        identity: {
          ...raw.identity,
          issuers: raw.identity.issuers.map((i) => ({ ...i, backchannelClientId: DEV_CLIENT_ID, interactiveClients: ['custos-cli'] })),
        },
      }),
    });
    carol = await h.token('carol');
    handbook = path.join(h.workspace, 'notes/handbook.md');
  });
  afterAll(async () => h?.close());

  it("revoking alice's session denies her open MCP session, her sub-agent's delegation token and the decision API; rows name her and the reason", async () => {
    const [alice, other, agent] = await Promise.all([h.token('alice'), h.token('alice'), h.agentToken('research-agent')]);
    const delegated = await delegate(h, alice, agent);
    expect(decodeJwt(delegated).sid).toBe(sidOf(alice));
    const client = await h.connect(alice, 'claude-desktop');
    const subAgent = await h.connect(delegated, 'research-agent');
    expect((await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } })).isError).toBeFalsy();
    expect((await subAgent.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } })).isError).toBeFalsy();

    const before = await head();
    const upstreamBefore = h.upstreamCalls().length;
    const revoked = await revoke(carol, { session_id: sidOf(alice) });
    expect(revoked).toMatchObject({ status: 200, body: { revoked: { iss: h.issuer, session_id: sidOf(alice) } } });

    await expect(client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } })).rejects.toThrow(/ERR_IDENTITY_SESSION_REVOKED/);
    await expect(subAgent.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } })).rejects.toThrow(/ERR_IDENTITY_SESSION_REVOKED/);
    const api = await authorize(alice);
    expect(api).toMatchObject({ status: 401, body: { error: { code: 'ERR_IDENTITY_SESSION_REVOKED' } } });
    expect(h.upstreamCalls().length).toBe(upstreamBefore);
    // her other sign-in (another IdP session) is untouched
    expect((await authorize(other)).body).toMatchObject({ decision: 'allow' });

    const after = rows(await h.auditRecords(), before);
    const admin = after.find((r) => r.event === 'admin' && r.policy.reasons.includes('session_revoked'))!;
    expect(admin.user).toMatchObject({ sub: 'carol', iss: h.issuer });
    expect(admin.detail).toMatchObject({ action: 'session_revoked', via: 'admin_api', target: { iss: h.issuer, session_id: sidOf(alice) } });
    const denies = after.filter((r) => r.event === 'deny' && r.policy.reasons.includes('session_revoked'));
    expect(denies).toHaveLength(3);
    for (const row of denies) {
      expect(row.user).toMatchObject({ sub: 'alice', iss: h.issuer, email: 'alice@example.test', tenant: 'general-hospital', session_id: sidOf(alice) });
      expect(row.tool).toMatchObject({ server: 'filesystem', name: 'read_text_file' });
      expect(row.user.anonymous).toBeUndefined();
    }
    expect(denies.map((r) => r.agent?.delegation_chain.at(-2))).toContain('agent:research-agent');
  });

  it('revoking a user ends all her sessions; a later sign-in works', async () => {
    const [t1, t2] = await Promise.all([h.token('alice'), h.token('alice')]);
    await new Promise((r) => setTimeout(r, 1100)); // iat has one-second resolution
    expect((await revoke(carol, { sub: 'alice' })).status).toBe(200);
    for (const t of [t1, t2]) expect((await authorize(t)).body).toMatchObject({ error: { code: 'ERR_IDENTITY_SESSION_REVOKED' } });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await authorize(await h.token('alice'))).body).toMatchObject({ decision: 'allow' });
  });

  it('refuses a revocation by someone without the admin role, and records it', async () => {
    const bob = await h.token('bob');
    const before = await head();
    const res = await revoke(bob, { sub: 'alice' });
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'ERR_IDENTITY_NOT_ENTITLED' } } });
    const row = rows(await h.auditRecords(), before, 'admin').at(-1)!;
    expect(row).toMatchObject({ user: { sub: 'bob' }, policy: { decision: 'deny', reasons: ['session_revoke_refused'] } });
  });

  it('a back-channel logout from the dev provider revokes the session', async () => {
    const alice = await h.token('alice');
    expect((await authorize(alice)).body).toMatchObject({ decision: 'allow' });
    const before = await head();
    await h.idp.backchannelLogout('alice', sidOf(alice)); // throws unless Custos answers 200
    expect((await authorize(alice)).body).toMatchObject({ error: { code: 'ERR_IDENTITY_SESSION_REVOKED' } });
    const after = rows(await h.auditRecords(), before);
    expect(after.find((r) => r.event === 'admin')).toMatchObject({
      user: { sub: 'alice' },
      detail: { via: 'backchannel_logout', target: { session_id: sidOf(alice) } },
    });
    expect(after.find((r) => r.event === 'deny')).toMatchObject({ user: { sub: 'alice' }, policy: { reasons: ['session_revoked'] } });
  });

  /** A tools/call on an existing MCP session, with whatever token. */
  async function callOnSession(session: string, token: string): Promise<number> {
    const res = await fetch(h.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        'mcp-session-id': session,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'filesystem__read_text_file', arguments: { path: handbook } } }),
    });
    await res.body?.cancel();
    return res.status;
  }

  for (const how of ['admin revocation of the user', 'back-channel logout of the IdP session'] as const) {
    it(`${how} ends alice's open MCP session: its id is refused even with a token issued after it, a new session works, a row names her and the reason`, async () => {
      const alice = await h.token('alice');
      const client = await h.connect(alice, 'claude-desktop');
      expect((await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } })).isError).toBeFalsy();
      const session = mcpSessionOf(client);
      const before = await head();
      await pause(1100); // iat has one-second resolution: her token is from before the revocation
      if (how === 'admin revocation of the user') expect((await revoke(carol, { sub: 'alice' })).status).toBe(200);
      else await h.idp.backchannelLogout('alice', sidOf(alice));
      await pause(1100);
      const fresh = await h.token('alice'); // a new sign-in, after the revocation
      const upstreamBefore = h.upstreamCalls().length;
      expect(await callOnSession(session, fresh)).toBe(404);
      expect(h.upstreamCalls().length).toBe(upstreamBefore);

      const again = await h.connect(fresh, 'claude-desktop');
      expect((await again.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } })).isError).toBeFalsy();
      const ended = rows(await h.auditRecords(), before, 'admin').filter((r) => r.policy.reasons.includes('mcp_session_ended'));
      expect(ended).toHaveLength(1);
      expect(ended[0]!.user).toMatchObject({ sub: 'alice', iss: h.issuer, session_id: sidOf(alice) });
      expect(ended[0]!.detail).toMatchObject({ action: 'mcp_session_ended', reason: 'session_revoked', mcp_session: session, revocation: { iss: h.issuer } });
    });
  }

  it('answers 400 to a logout token that does not verify, and records it', async () => {
    const alice = await h.token('alice');
    const form = (body: string) =>
      fetch(`${h.custos.url}/oauth/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    // an access token is not a logout token (no events claim, wrong audience)
    const res = await form(new URLSearchParams({ logout_token: alice }).toString());
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    expect((await form('')).status).toBe(400);
    const failures = (await h.auditRecords()).filter((r) => r.event === 'auth_failure').slice(-2);
    expect(failures.map((r) => r.policy.reasons)).toEqual([['ERR_IDENTITY_CLAIM_INVALID'], ['ERR_GATEWAY_BAD_REQUEST']]);
    expect((await authorize(alice)).body).toMatchObject({ decision: 'allow' });
  });
});

describe('automatic logoff (idle timeout)', () => {
  let h: Harness;
  // The session guard's clock, moved by the test: no real wait, so a loaded machine cannot turn an active session idle.
  const clock = createManualClock(Date.now());
  beforeAll(async () => {
    h = await startHarness({
      sessionClock: clock,
      configure: (raw) => ({ ...raw, identity: { ...raw.identity, sessions: { idleTimeoutSec: { interactive: 600 } } } }),
    });
  });
  afterAll(async () => h?.close());

  it('keeps a session active 599 s after its last call, denies it with session_idle under the user at 601 s, until she signs in again', async () => {
    const alice = await h.token('alice');
    const note = path.join(h.workspace, 'notes/handbook.md');
    const client = await h.connect(alice);
    const read = () => client.callTool({ name: 'filesystem__read_text_file', arguments: { path: note } });
    expect((await read()).isError).toBeFalsy();
    clock.advance(599_000);
    expect((await read()).isError).toBeFalsy(); // 599 s idle: still active, and this call is activity
    clock.advance(601_000);
    await expect(read()).rejects.toThrow(/ERR_IDENTITY_SESSION_IDLE/);
    const row = (await h.auditRecords()).filter((r) => r.event === 'deny').at(-1)!;
    expect(row).toMatchObject({ user: { sub: 'alice', session_id: sidOf(alice) }, policy: { reasons: ['session_idle'] }, tool: { name: 'read_text_file' } });
    await expect(read()).rejects.toThrow(/ERR_IDENTITY_SESSION_IDLE/); // logged off stays logged off
    // A new sign-in: a new IdP session, its token issued on the provider's (real) clock, so the guard's goes back to it.
    clock.advance(-1_200_000);
    const again = await h.token('alice');
    expect(sidOf(again)).not.toBe(sidOf(alice));
    const fresh = await h.connect(again);
    expect((await fresh.callTool({ name: 'filesystem__read_text_file', arguments: { path: note } })).isError).toBeFalsy();
  });
});
