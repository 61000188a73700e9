/**
 * The user's identity at the tool: an HTTP MCP upstream with `identity` receives, on each
 * tools/call, a token Custos issued for that upstream's audience whose subject is the user and
 * whose actor is Custos (token-exchange), or a short-lived signed identity assertion; never the
 * user's original token. Verified as the upstream would: against Custos' JWKS. With `idp-exchange`
 * the token comes from a real RFC 8693 exchange at the user's own IdP (the dev provider), and the
 * IdP refusing the exchange fails the call closed.
 */
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { DEMO_AGENT_CLIENTS, repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

interface Seen {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
}

/** A stateless Streamable HTTP MCP server with one tool, recording every request's JSON-RPC method and headers. */
async function startRecordingUpstream(): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { method?: string }) : undefined;
      seen.push({ method: body?.method ?? req.method ?? '', headers: req.headers });
      const mcp = new McpServer({ name: 'records', version: '1.0.0' });
      mcp.registerTool('whoami', { description: 'Who the upstream thinks is calling' }, async () => ({ content: [{ type: 'text', text: 'ok' }] }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      void mcp.connect(transport).then(() => transport.handleRequest(req, res, body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, seen, server };
}

describe("the user's identity at an HTTP upstream", () => {
  let h: Harness;
  let records: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let notes: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let chart: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let refused: Awaited<ReturnType<typeof startRecordingUpstream>>;

  beforeAll(async () => {
    process.env.CUSTOS_E2E_NOTES_KEY = 'static-upstream-key';
    process.env.CUSTOS_E2E_IDP_EXCHANGE_SECRET = 'custos-gateway-dev-secret';
    [records, notes, chart, refused] = await Promise.all([
      startRecordingUpstream(),
      startRecordingUpstream(),
      startRecordingUpstream(),
      startRecordingUpstream(),
    ]);
    h = await startHarness({
      agentClients: [
        ...DEMO_AGENT_CLIENTS.filter((c) => c.clientId !== 'custos-gateway'),
        { clientId: 'custos-gateway', clientSecret: 'custos-gateway-dev-secret' },
      ],
      upstreams: [
        { name: 'chart', url: chart.url, identity: { mode: 'idp-exchange' } },
        // The dev IdP refuses an audience that is not an http(s) URL (invalid_target).
        { name: 'refused', url: refused.url, identity: { mode: 'idp-exchange', audience: 'urn:refused' } },
        { name: 'records', url: records.url, identity: { mode: 'token-exchange' } },
        {
          name: 'notes',
          url: notes.url,
          headers: { 'x-api-key': 'env:CUSTOS_E2E_NOTES_KEY' },
          identity: { mode: 'assertion', audience: 'urn:notes-api', header: 'x-user-assertion' },
        },
      ],
      configure: (raw, { dir }) => {
        // The quick-start bundle, plus the two HTTP upstreams' tool as a read tool staff may call.
        const bundle = path.join(dir, 'policy');
        cpSync(path.join(repoRoot, 'examples/quickstart/policy'), bundle, { recursive: true });
        const catalog = path.join(bundle, 'catalog.yaml');
        writeFileSync(
          catalog,
          readFileSync(catalog, 'utf8').replace(
            /^tools:\n/m,
            'tools:\n  records/whoami: { classes: [read] }\n  notes/whoami: { classes: [read] }\n  chart/whoami: { classes: [read] }\n  refused/whoami: { classes: [read] }\n',
          ),
        );
        appendFileSync(
          path.join(bundle, 'policies/staff-read.cedar'),
          '\n@id("staff-read-http")\n@reason("staff_may_read")\npermit (principal, action in [Custos::Action::"list_tool", Custos::Action::"call_tool"], resource)\nwhen { (resource.server == "records" || resource.server == "notes" || resource.server == "chart" || resource.server == "refused") && resource.classes.contains("read") && (principal.roles.contains("clinician") || principal.roles.contains("billing")) };\n',
        );
        const [issuer, ...others] = raw.identity!.issuers!;
        const tokenExchange = { clientId: 'custos-gateway', clientSecret: 'env:CUSTOS_E2E_IDP_EXCHANGE_SECRET' };
        return { ...raw, identity: { ...raw.identity, issuers: [{ ...issuer!, tokenExchange }, ...others] }, policy: { bundle } };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const s of [records, notes, chart, refused]) s?.server.closeAllConnections();
    await Promise.all([records, notes, chart, refused].map((s) => s && new Promise((r) => s.server.close(r))));
  });

  const jwks = () => createRemoteJWKSet(new URL(`${h.custos.url}/.well-known/jwks.json`));

  it('token-exchange: the upstream gets a token for its own audience, subject alice, actor Custos, never her own token', async () => {
    const alice = await h.token('alice');
    const client = await h.connect(alice);
    const result = await client.callTool({ name: 'records__whoami', arguments: {} });
    expect(result.isError).toBeFalsy();
    const call = records.seen.filter((s) => s.method === 'tools/call').at(-1)!;
    const presented = String(call.headers.authorization).replace(/^Bearer /, '');
    expect(presented).not.toBe(alice);
    expect(decodeProtectedHeader(presented).typ).toBe('at+jwt');
    const { payload } = await jwtVerify(presented, jwks(), { issuer: h.custos.url, audience: records.url });
    expect(payload).toMatchObject({ sub: 'alice', user_iss: h.issuer, tenant: 'general-hospital', act: { sub: h.custos.url } });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
    // The token is for this upstream only: another audience refuses it.
    await expect(jwtVerify(presented, jwks(), { issuer: h.custos.url, audience: 'urn:notes-api' })).rejects.toThrow();
    for (const s of [...records.seen, ...notes.seen]) expect(JSON.stringify(s.headers)).not.toContain(alice);
  });

  it('assertion: a short-lived signed identity assertion in the configured header, besides the static headers', async () => {
    const bob = await h.token('bob');
    const client = await h.connect(bob);
    expect((await client.callTool({ name: 'notes__whoami', arguments: {} })).isError).toBeFalsy();
    const call = notes.seen.filter((s) => s.method === 'tools/call').at(-1)!;
    expect(call.headers['x-api-key']).toBe('static-upstream-key');
    expect(call.headers.authorization).toBeUndefined();
    const assertion = String(call.headers['x-user-assertion']);
    expect(decodeProtectedHeader(assertion).typ).toBe('custos-id+jwt');
    const { payload } = await jwtVerify(assertion, jwks(), { issuer: h.custos.url, audience: 'urn:notes-api' });
    expect(payload).toMatchObject({ sub: 'bob', act: { sub: h.custos.url } });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
    // Requests outside a call (initialize, lists) carry no user identity.
    expect(notes.seen.filter((s) => s.method === 'initialize').every((s) => s.headers['x-user-assertion'] === undefined)).toBe(true);
    expect(JSON.stringify(notes.seen.map((s) => s.headers))).not.toContain(bob);
  });

  it("idp-exchange: the upstream gets a token the user's own IdP issued by RFC 8693 exchange, audience the upstream, subject alice, actor Custos", async () => {
    const alice = await h.token('alice');
    const client = await h.connect(alice);
    expect((await client.callTool({ name: 'chart__whoami', arguments: {} })).isError).toBeFalsy();
    const presented = String(chart.seen.filter((s) => s.method === 'tools/call').at(-1)!.headers.authorization).replace(/^Bearer /, '');
    expect(presented).not.toBe(alice);
    // Issued by the IdP (its keys, its issuer), not by Custos.
    const { payload, protectedHeader } = await jwtVerify(presented, createRemoteJWKSet(new URL(h.idp.jwksUri)), { issuer: h.issuer, audience: chart.url });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      sub: 'alice',
      email: 'alice@example.test',
      tenant: 'general-hospital',
      client_id: 'custos-gateway',
      act: { sub: 'custos-gateway' },
    });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
    await expect(jwtVerify(presented, jwks(), { issuer: h.custos.url })).rejects.toThrow();
    // Reused for the next call while it has more than a minute left.
    await client.callTool({ name: 'chart__whoami', arguments: {} });
    expect(String(chart.seen.filter((s) => s.method === 'tools/call').at(-1)!.headers.authorization)).toBe(`Bearer ${presented}`);
    expect(JSON.stringify(chart.seen.map((s) => s.headers))).not.toContain(alice);
  });

  it('idp-exchange: the IdP refusing the exchange fails the call closed, with the reason, and the upstream never sees it', async () => {
    const client = await h.connect(await h.token('alice'));
    const result = (await client.callTool({ name: 'refused__whoami', arguments: {} })) as { isError?: boolean; content: Array<{ text: string }> };
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toContain('ERR_UPSTREAM_IDENTITY_UNAVAILABLE');
    expect(refused.seen.filter((s) => s.method === 'tools/call')).toHaveLength(0);
    const row = (await h.auditRecords()).filter((r) => r.event === 'result' && r.tool?.server === 'refused').at(-1)!;
    expect(row).toMatchObject({ user: { sub: 'alice' }, output: { error: 'ERR_UPSTREAM_IDENTITY_UNAVAILABLE' } });
  });
});
