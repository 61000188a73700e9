/**
 * The first slice end to end: real OIDC provider, real Custos, real filesystem MCP server,
 * the official SDK client. Each security control has its negative case here.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';

type TextResult = { isError?: boolean; content: Array<{ type: string; text?: string }> };
const textOf = (r: unknown): string => (r as TextResult).content.map((c) => c.text ?? '').join('\n');

function rowsFor(records: AuditRecord[], sub: string | null, event?: string): AuditRecord[] {
  return records.filter((r) => r.user.sub === sub && (!event || r.event === event));
}

describe('MCP gateway end to end', () => {
  let h: Harness;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    h = await startHarness({ busyTimeoutMs: 200 });
    [alice, bob] = await Promise.all([h.token('alice'), h.token('bob')]);
  });
  afterAll(async () => h?.close());

  it('lists upstream tools namespaced by server, only those the user may call', async () => {
    const client = await h.connect(bob);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain('filesystem__read_text_file');
    expect(names.every((n) => n.startsWith('filesystem__'))).toBe(true);
    // bob (billing) may not write, so write tools are hidden from him
    expect(names).not.toContain('filesystem__write_file');
    const aliceTools = (await (await h.connect(alice)).listTools()).tools.map((t) => t.name);
    expect(aliceTools).toContain('filesystem__write_file');
  });

  it('denies bob a patient note without calling the upstream, and records bob and the denial', async () => {
    const note = path.join(h.workspace, 'phi/patient-0001.md');
    const before = h.upstreamCalls().length;
    const result = await (await h.connect(bob)).callTool({ name: 'filesystem__read_text_file', arguments: { path: note } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('phi_requires_clinician');
    expect(textOf(result)).not.toContain('123-45-6789');
    expect(h.upstreamCalls().slice(before)).toEqual([]);
    const [row] = rowsFor(await h.auditRecords(), 'bob', 'deny').slice(-1);
    expect(row?.policy.decision).toBe('deny');
    expect(row?.policy.reasons).toContain('phi_requires_clinician');
    expect(row?.user.iss).toBe(h.issuer);
    expect(row?.tool).toMatchObject({ server: 'filesystem', name: 'read_text_file' });
    expect(row?.data_classes).toContain('phi');
    expect(row?.policy.bundle_hash).toBe(h.custos.bundleHash);
  });

  it('lets alice read the same note with its SSNs and MRNs redacted, intent and result sharing a request_id', async () => {
    const note = path.join(h.workspace, 'phi/patient-0001.md');
    const result = await (await h.connect(alice, 'claude-desktop')).callTool({ name: 'filesystem__read_text_file', arguments: { path: note } });
    expect(result.isError).toBeFalsy();
    const text = textOf(result);
    expect(text).toContain('Type 2 diabetes');
    expect(text).toContain('[redacted:ssn]');
    expect(text).toContain('[redacted:mrn]');
    expect(text).not.toContain('123-45-6789');
    expect(text).not.toContain('00482913');
    expect(h.upstreamCalls().at(-1)).toMatchObject({ name: 'read_text_file', arguments: { path: note } });
    const rows = rowsFor(await h.auditRecords(), 'alice');
    const result_ = rows.filter((r) => r.event === 'result').at(-1)!;
    const intent = rows.find((r) => r.event === 'intent' && r.request_id === result_.request_id)!;
    expect(intent.seq).toBeLessThan(result_.seq);
    expect(intent.agent).toMatchObject({ name: 'claude-desktop', tier: 'interactive' });
    expect(intent.agent?.delegation_chain).toEqual(['user:alice', 'agent:claude-desktop', 'tool:filesystem/read_text_file']);
    expect(result_.redactions.types).toEqual(expect.arrayContaining(['ssn', 'mrn']));
    expect(JSON.stringify(result_)).not.toContain('123-45-6789');
    expect(result_.output?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('redacts every secret of .env for alice, and records the redactions', async () => {
    const result = await (await h.connect(alice)).callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, '.env') } });
    const text = textOf(result);
    expect(result.isError).toBeFalsy();
    expect(text).toContain('[redacted:secret]');
    for (const secret of [
      'FakePassw0rd-quickstart',
      'sk_live_FAKE51HqQuickstartNotARealKey00',
      'AKIAQUICKSTARTFAKE01',
      'qUiCkStArT/FaKe+SeCrEt',
      'sk-proj-quickstartFAKEkey',
      'quickstart-fake-signing-secret-value',
    ]) {
      expect(text).not.toContain(secret);
    }
    const row = rowsFor(await h.auditRecords(), 'alice', 'result').at(-1)!;
    expect(row.data_classes).toContain('secret_file');
    expect(row.redactions.count).toBeGreaterThan(0);
    expect(row.redactions.types).toContain('secret');
    expect(JSON.stringify(row)).not.toContain('FakePassw0rd-quickstart');
  });

  it('denies bob a write, which never reaches the upstream', async () => {
    const target = path.join(h.workspace, 'notes/bob-was-here.txt');
    const before = h.upstreamCalls().length;
    const result = await (await h.connect(bob)).callTool({ name: 'filesystem__write_file', arguments: { path: target, content: 'x' } });
    expect(result.isError).toBe(true);
    expect(h.upstreamCalls().slice(before)).toEqual([]);
    const row = rowsFor(await h.auditRecords(), 'bob', 'deny').at(-1)!;
    expect(row.tool?.name).toBe('write_file');
  });

  it("refuses a request without a token, with a bad token, or with another issuer's token: 401, nothing forwarded", async () => {
    const before = h.upstreamCalls().length;
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const post = (headers: Record<string, string>) =>
      fetch(h.mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(init),
      });
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer .*resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource/);
    const garbage = await post({ authorization: 'Bearer not.a.jwt' });
    expect(garbage.status).toBe(401);
    expect(await garbage.text()).not.toContain('not.a.jwt');
    const meta = await (await fetch(new URL('/.well-known/oauth-protected-resource', h.mcpUrl))).json();
    expect(meta).toMatchObject({ resource: h.mcpUrl, authorization_servers: [h.issuer] });

    const { startDevIdentityProvider, fetchDevToken } = await import('./harness.js');
    const rogue = await startDevIdentityProvider({ host: '127.0.0.1', port: 0, audience: h.mcpUrl });
    try {
      const foreign = await post({ authorization: `Bearer ${await fetchDevToken(rogue.issuer, 'alice')}` });
      expect(foreign.status).toBe(401);
      expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe('ERR_IDENTITY_ISSUER_UNKNOWN');
    } finally {
      await rogue.close();
    }
    expect(h.upstreamCalls().slice(before)).toEqual([]);
    const failures = (await h.auditRecords()).filter((r) => r.event === 'auth_failure');
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures.every((r) => r.user.sub === null && r.user.anonymous === true)).toBe(true);
  });

  it('denies calls while the audit store cannot write: a write never reaches the upstream, a read output never reaches the agent', async () => {
    const client = await h.connect(alice);
    const handbook = path.join(h.workspace, 'notes/handbook.md');
    const before = h.upstreamCalls().length;
    const locker = new Database(h.storeFile);
    locker.exec('BEGIN EXCLUSIVE');
    const attempt = (name: string, args: Record<string, unknown>) =>
      client.callTool({ name, arguments: args }).then(
        (r) => ({ ok: !r.isError, text: textOf(r) }),
        (e: Error) => ({ ok: false, text: e.message }),
      );
    try {
      // A read-only call runs upstream while its intent row is tried (the overlap); the row fails, so its output is dropped.
      const read = await attempt('filesystem__read_text_file', { path: handbook });
      expect(read.ok).toBe(false);
      expect(read.text).toMatch(/ERR_AUDIT_UNAVAILABLE|audit/i);
      expect(read.text).not.toContain('Front desk');
      const write = await attempt('filesystem__write_file', { path: path.join(h.workspace, 'notes/outage.md'), content: 'x' });
      expect(write.ok).toBe(false);
      expect(write.text).toMatch(/ERR_AUDIT_UNAVAILABLE|audit/i);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    expect(
      h
        .upstreamCalls()
        .slice(before)
        .map((c) => c.name),
    ).toEqual(['read_text_file']); // the write never ran
    // once the store is back, calls work again
    const again = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: handbook } });
    expect(textOf(again)).toContain('Front desk');
  });
});

describe('expired tokens', () => {
  it('refuses a token past its exp (no skew allowed here) with 401', async () => {
    const h = await startHarness({ accessTokenTtlSec: 1, clockSkewSec: 0 });
    try {
      const token = await h.token('alice');
      await new Promise((r) => setTimeout(r, 2100));
      const res = await fetch(h.mcpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
        }),
      });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ERR_IDENTITY_TOKEN_EXPIRED');
      expect(h.upstreamCalls()).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
