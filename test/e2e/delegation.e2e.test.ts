/**
 * RFC 8693 delegation end to end: alice's token from the real dev OIDC provider, agents'
 * client-credentials tokens from the same provider, Custos' token endpoint, then the MCP
 * gateway with the delegation token. Refusals are OAuth errors and deny rows under alice.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { DEMO_USERS, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';

async function exchange(
  h: Harness,
  subject: string,
  actor: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${h.custos.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: EXCHANGE,
      subject_token: subject,
      subject_token_type: ACCESS,
      actor_token: actor,
      actor_token_type: ACCESS,
      ...extra,
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function mint(h: Harness, subject: string, actor: string, extra: Record<string, string> = {}): Promise<string> {
  const { status, body } = await exchange(h, subject, actor, extra);
  expect(status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

const lastDeny = (records: AuditRecord[]): AuditRecord | undefined => records.filter((r) => r.event === 'deny').at(-1);

describe('delegation (RFC 8693 token exchange) end to end', () => {
  let h: Harness;
  let alice: string;
  let primary: string;
  let sub: string;
  let third: string;

  beforeAll(async () => {
    h = await startHarness({
      users: [...DEMO_USERS, { username: 'root', sub: 'root', roles: ['custos-admin'] }],
      configure: (raw) => ({ ...raw, identity: { ...raw.identity, issuers: raw.identity.issuers.map((i) => ({ ...i, interactiveClients: ['custos-cli'] })) } }),
    });
    [alice, primary, sub, third] = await Promise.all([
      h.token('alice'),
      h.agentToken('research-agent'),
      h.agentToken('summarizer-agent'),
      h.agentToken('citation-agent'),
    ]);
  });
  afterAll(async () => h?.close());

  it("shows user → primary agent → sub-agent → tool on the sub-agent's call", async () => {
    const first = await mint(h, alice, primary);
    const second = await mint(h, first, sub, { scope: 'mcp' });
    const claims = decodeJwt(second);
    expect(claims).toMatchObject({
      sub: 'alice',
      iss: h.custos.url,
      aud: h.mcpUrl,
      sid: decodeJwt(alice).sid,
      scope: 'mcp',
      act: { sub: 'summarizer-agent', act: { sub: 'research-agent' } },
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(300);
    const jwks = (await (await fetch(`${h.custos.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; d?: string }> };
    expect(jwks.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(second).kid);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);

    const client = await h.connect(second, 'summarizer-agent');
    const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, 'notes/handbook.md') } });
    expect(result.isError).toBeFalsy();
    const intent = (await h.auditRecords()).filter((r) => r.event === 'intent').at(-1)!;
    expect(intent.user).toMatchObject({ sub: 'alice', iss: h.issuer, session_id: decodeJwt(alice).sid });
    expect(intent.agent?.tier).toBe('subagent');
    expect(intent.agent?.delegation_chain).toEqual(['user:alice', 'agent:research-agent', 'agent:summarizer-agent', 'tool:filesystem/read_text_file']);
    const issued = (await h.auditRecords()).filter((r) => r.event === 'admin' && r.policy.reasons.includes('token_exchange'));
    expect(issued.at(-1)?.agent?.delegation_chain).toEqual(['user:alice', 'agent:research-agent', 'agent:summarizer-agent']);
  });

  it('keeps writes from the sub-agent (the policy sees tier subagent)', async () => {
    const token = await mint(h, await mint(h, alice, primary), sub);
    const tools = (await (await h.connect(token, 'summarizer-agent')).listTools()).tools.map((t) => t.name);
    expect(tools).toContain('filesystem__read_text_file');
    expect(tools).not.toContain('filesystem__write_file');
  });

  it('refuses a delegation that widens the scope, and records the refusal under alice', async () => {
    const first = await mint(h, alice, primary, { scope: 'mcp' });
    const { status, body } = await exchange(h, first, sub, { scope: 'mcp admin' });
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_scope', reason: 'scope_widened', custos_code: 'ERR_IDENTITY_DELEGATION_INVALID' });
    expect(JSON.stringify(body)).not.toContain(first);
    const row = lastDeny(await h.auditRecords());
    expect(row?.user.sub).toBe('alice');
    expect(row?.policy.reasons).toEqual(['delegation_scope_widened']);
    expect(JSON.stringify(row)).not.toContain(first);
  });

  it('refuses a chain deeper than the maximum (3 agents)', async () => {
    const t3 = await mint(h, await mint(h, await mint(h, alice, primary), sub), third);
    expect(decodeJwt(t3).act).toEqual({ sub: 'citation-agent', act: { sub: 'summarizer-agent', act: { sub: 'research-agent' } } });
    const { status, body } = await exchange(h, t3, primary);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_request', reason: 'depth_exceeded' });
    const row = lastDeny(await h.auditRecords());
    expect(row?.user.sub).toBe('alice');
    expect(row?.policy.reasons).toEqual(['delegation_depth_exceeded']);
  });

  it('refuses an actor token that does not verify, and a subject token that does not', async () => {
    const [head, payload] = primary.split('.');
    const forgedActor = `${head}.${payload}.${'A'.repeat(86)}`;
    const badActor = await exchange(h, alice, forgedActor);
    expect(badActor).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', reason: 'actor_token_invalid', cause_code: 'ERR_IDENTITY_SIGNATURE_INVALID' },
    });
    expect(lastDeny(await h.auditRecords())?.user.sub).toBe('alice');

    const tampered = alice.replace(/\.[^.]+$/, `.${'B'.repeat(86)}`);
    const badSubject = await exchange(h, tampered, primary);
    expect(badSubject).toMatchObject({ status: 400, body: { error: 'invalid_request', reason: 'subject_token_invalid' } });
    const row = lastDeny(await h.auditRecords());
    expect(row?.user).toEqual({ sub: null, anonymous: true });
    expect(row?.policy.reasons).toEqual(['delegation_subject_token_invalid']);
  });

  it("refuses the agent's own credential at the MCP door: agents act through exchange", async () => {
    const response = await fetch(h.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${primary}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('ERR_IDENTITY_CLIENT_NOT_INTERACTIVE');
  });

  it("ends the whole chain when the user's session is revoked: no new exchange, no call with the old token", async () => {
    const session = await h.token('alice'); // a fresh login: its own sid
    const delegated = await mint(h, session, primary);
    const revoke = await fetch(`${h.custos.url}/v1/admin/sessions/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token('root')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: decodeJwt(session).sid }),
    });
    expect(revoke.status).toBe(200);
    const refused = await exchange(h, delegated, sub);
    expect(refused).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', reason: 'subject_token_invalid', cause_code: 'ERR_IDENTITY_SESSION_REVOKED' },
    });
    const row = lastDeny(await h.auditRecords());
    expect(row?.policy.reasons).toEqual(['delegation_subject_token_invalid']);
    const call = await fetch(`${h.custos.url}/v1/authorize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${delegated}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tool: { server: 'filesystem', name: 'read_text_file' },
        arguments: { path: path.join(h.workspace, 'notes/handbook.md') },
        agent: { name: 'research-agent' },
      }),
    });
    expect(call.status).toBe(401);
    expect(((await call.json()) as { error: { code: string } }).error.code).toBe('ERR_IDENTITY_SESSION_REVOKED');
  });

  it('answers other grant types with unsupported_grant_type', async () => {
    const response = await fetch(`${h.custos.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });
});

describe('rotation of Custos signing keys end to end (keysDir)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ configure: (raw) => ({ ...raw, identity: { ...raw.identity, delegation: { keysDir: 'keys' } } }) });
  });
  afterAll(async () => h?.close());

  async function authorize(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${h.custos.url}/v1/authorize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tool: { server: 'filesystem', name: 'read_text_file' },
        arguments: { path: path.join(h.workspace, 'notes/handbook.md') },
        agent: { name: 'research-agent' },
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('accepts a token of a key rotated in (written by the test), and refuses tokens of a key once its file is removed', async () => {
    const keysDir = path.join(h.dir, 'keys');
    const oldToken = await mint(h, await h.token('alice'), await h.agentToken('research-agent'));
    const oldKid = decodeProtectedHeader(oldToken).kid!;
    expect(readdirSync(keysDir)).toEqual([`custos-signing-${oldKid}.json`]);
    expect((await authorize(oldToken)).body.decision).toBe('allow');

    // Another replica (here: the test) rotates in a new key in the shared directory.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const newKid = `custos-es256-${randomUUID()}`;
    writeFileSync(
      path.join(keysDir, `custos-signing-${newKid}.json`),
      JSON.stringify({ kid: newKid, alg: 'ES256', created_at: Date.now() + 1000, retired_at: null, private_jwk: await exportJWK(privateKey) }),
      { mode: 0o600 },
    );
    const now = Math.floor(Date.now() / 1000);
    const newToken = await new SignJWT({
      sub: 'alice',
      user_iss: h.issuer,
      roles: ['clinician'],
      groups: [],
      act: { sub: 'research-agent' },
      custos_cred: 'delegation',
      jti: randomUUID(),
    })
      .setProtectedHeader({ alg: 'ES256', kid: newKid, typ: 'at+jwt' })
      .setIssuer(h.custos.url)
      .setAudience(h.mcpUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
    await new Promise((resolve) => setTimeout(resolve, 5100)); // the reload cooldown since start
    expect((await authorize(newToken)).body.decision).toBe('allow');
    const jwks = (await (await fetch(`${h.custos.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());

    rmSync(path.join(keysDir, `custos-signing-${oldKid}.json`));
    const refused = await authorize(oldToken);
    expect(refused.status).toBe(401);
    expect((refused.body.error as { code: string }).code).toBe('ERR_IDENTITY_KEY_NOT_FOUND');
    expect((await authorize(newToken)).body.decision).toBe('allow');
    const fresh = await mint(h, await h.token('alice'), await h.agentToken('research-agent'));
    expect(decodeProtectedHeader(fresh).kid).toBe(newKid);
  }, 20_000);
});
