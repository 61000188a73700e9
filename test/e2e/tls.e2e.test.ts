/**
 * Transmission security end to end (164.312(e)(1)): Custos serves HTTPS with a certificate
 * made at test time; it reaches a Streamable HTTP MCP upstream over TLS whose SPKI pin is
 * configured, and refuses a second upstream entry whose pin is wrong (an `alert` row
 * `tls_pin_mismatch` names the destination); `custos tls-audit` reports protocol, cipher,
 * chain, expiry and pin match for both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../src/cli/cli.test-support.js';
import type { CustosConfigInput } from '../../src/config/index.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { extendQuickstartBundle, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { makeTestPki } from './tls-pki.js';
import type { TestPki } from './tls-pki.js';

const PERMIT_RECORDS = `@id("records-read")
@reason("staff_may_read_records")
permit (principal, action in [Custos::Action::"list_tool", Custos::Action::"call_tool"], resource)
when { (resource.server == "records" || resource.server == "spoofed") && resource.classes.contains("read") };
`;

/** A stateless Streamable HTTP MCP server over HTTPS with one `echo` tool. */
async function startHttpsUpstream(pki: TestPki): Promise<{ url: string; close(): Promise<void> }> {
  const server = https.createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
    const mcp = new McpServer({ name: 'records', version: '1.0.0' });
    mcp.registerTool('echo', { description: 'Echoes.' }, async () => ({ content: [{ type: 'text', text: 'record 42' }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close());
    void mcp.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

async function waitForRow(h: Harness, match: (r: AuditRecord) => boolean): Promise<AuditRecord> {
  for (let i = 0; i < 200; i++) {
    const row = (await h.auditRecords()).find(match);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('row not written');
}

describe('TLS: Custos over HTTPS, a pinned upstream, tls-audit', () => {
  let dir: string;
  let pki: TestPki;
  let upstream: { url: string; close(): Promise<void> };
  let h: Harness;
  let configFile: string;
  const agent = () => new Agent({ connect: { ca: pki.ca } });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'custos-tls-'));
    pki = makeTestPki(dir);
    upstream = await startHttpsUpstream(pki);
    const bundle = extendQuickstartBundle(path.join(dir, 'bundle'), {
      tools: '  records/echo: { classes: [read] }\n  spoofed/echo: { classes: [read] }',
      policies: { 'records.cedar': PERMIT_RECORDS },
    });
    h = await startHarness({
      bundleDir: bundle,
      upstreams: [
        { name: 'records', url: upstream.url, connection: { ca: pki.caFile, pins: [pki.pin] } },
        { name: 'spoofed', url: upstream.url, connection: { ca: pki.caFile, pins: [pki.wrongPin] } },
      ],
      configure: (raw) => {
        const final: CustosConfigInput = { ...raw, server: { ...raw.server, tls: { cert: pki.certFile, key: pki.keyFile } } };
        configFile = path.join(dir, 'custos.json');
        writeFileSync(configFile, JSON.stringify(final));
        return final;
      },
    });
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS (and not plain HTTP); the pinned upstream answers through it', async () => {
    expect(h.custos.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await expect(fetch(`${h.custos.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
    const dispatcher = agent();
    const client = new Client({ name: 'tls-e2e', version: '1.0.0' });
    const token = await h.token('alice');
    await client.connect(
      new StreamableHTTPClientTransport(new URL(h.custos.mcpUrl), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
        fetch: (url, init) => undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>,
      }),
    );
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['records__echo']);
    const result = await client.callTool({ name: 'records__echo', arguments: {} });
    expect(JSON.stringify(result.content)).toContain('record 42');
    await client.close();
    await dispatcher.close();
  });

  it('refuses the upstream whose pin is wrong and records it: an alert row naming the destination and both pins', async () => {
    const destination = new URL(upstream.url).origin;
    const row = await waitForRow(h, (r) => r.event === 'alert' && r.alert?.type === 'tls_pin_mismatch');
    expect(row).toMatchObject({
      alert: { type: 'tls_pin_mismatch', severity: 'high' },
      detail: { destination, expected_pins: [pki.wrongPin], presented_pin: pki.pin },
    });
    const status = await (await undiciFetch(`${h.custos.url}/readyz`, { dispatcher: agent() })).json();
    expect(JSON.stringify(status)).toMatch(/"name":"spoofed"[^}]*"state":"(failed|connecting)"/);
  });

  it('custos tls-audit reports protocol, cipher, chain, expiry and pin match per destination', async () => {
    const { code, out } = await runCliCaptured(['tls-audit', '--config', configFile, '--json']);
    const entries = JSON.parse(out) as Array<Record<string, unknown> & { chain: Array<{ daysLeft: number }> }>;
    const byKey = Object.fromEntries(entries.map((e) => [e.key, e]));
    expect(byKey['upstreams[0].url']).toMatchObject({ protocol: 'TLSv1.3', verified: true, pin: pki.pin, pinMatch: true, problems: [] });
    expect(byKey['upstreams[0].url']!.cipher).toEqual(expect.any(String));
    expect(byKey['upstreams[0].url']!.chain[0]).toMatchObject({ subject: 'CN=127.0.0.1', issuer: 'CN=Custos Test CA' });
    expect(byKey['upstreams[0].url']!.chain[0]!.daysLeft).toBeGreaterThanOrEqual(88);
    expect(byKey['upstreams[0].url']!.chain[0]!.daysLeft).toBeLessThanOrEqual(90);
    expect(byKey['upstreams[1].url']).toMatchObject({ verified: true, pinMatch: false, problems: expect.arrayContaining(['pin mismatch']) });
    expect(byKey['identity.issuers[0].issuer']).toMatchObject({ protocol: 'none', problems: ['plain HTTP'] });
    expect(code).toBe(1);
    const text = await runCliCaptured(['tls-audit', '--config', configFile]);
    expect(text.out).toContain('configured pins DO NOT MATCH');
    expect(text.out).toMatch(/ok {3}upstreams\[0\]\.url/);
  });
});
