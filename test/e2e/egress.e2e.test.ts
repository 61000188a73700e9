/**
 * Egress end to end (CC6.6, 164.312(e)(1)): a fetch-style MCP tool behind Custos, the official
 * MCP client in front. A host off the allow-list, the cloud metadata address and a name that
 * resolves to 127.0.0.1 are denied before the tool runs, each a deny row naming the user, the
 * reason and the destination; an allowed destination is fetched, its intent and result rows
 * carrying the destination and the payload hash.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENY_REASONS, digestJson } from '../../src/kernel/index.js';
import { extendQuickstartBundle, fetchServer, startHarness, tapped } from './harness.js';
import type { Harness } from './harness.js';

const PERMIT_EGRESS = `@id("staff-fetch")
@reason("staff_may_fetch")
permit (principal, action in [Custos::Action::"list_tool", Custos::Action::"call_tool"], resource)
when { resource.server == "web" && resource.classes.contains("egress") };
`;

describe('egress control (fetch-style tool)', () => {
  let h: Harness;
  let intranet: http.Server;
  let port: number;
  let bundle: string;
  const hits: string[] = [];
  const tapLog = path.join(tmpdir(), `custos-egress-tap-${process.pid}-${Date.now()}.jsonl`);
  /** The `tools/call` requests that reached the fetch server. */
  const toolCalls = (): unknown[] =>
    existsSync(tapLog)
      ? readFileSync(tapLog, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { method: string; arguments?: unknown })
          .filter((e) => e.method === 'tools/call')
          .map((e) => e.arguments)
      : [];

  beforeAll(async () => {
    intranet = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('hello from the intranet');
    });
    await new Promise<void>((resolve) => intranet.listen(0, '127.0.0.1', resolve));
    port = (intranet.address() as AddressInfo).port;
    bundle = extendQuickstartBundle(mkdtempSync(path.join(tmpdir(), 'custos-egress-bundle-')), {
      tools: '  web/fetch: { classes: [egress], urls: [url] }',
      sections: [
        'egress:',
        '  allow:',
        '    - hosts: [api.example.com, localhost]',
        '      schemes: [https, http]',
        `      ports: [443, ${port}]`,
        '    - hosts: [127.0.0.1]',
        '      schemes: [http]',
        `      ports: [${port}]`,
        '      allowPrivate: true',
      ].join('\n'),
      policies: { 'egress.cedar': PERMIT_EGRESS },
    });
    h = await startHarness({
      bundleDir: bundle,
      upstreams: [{ name: 'web', ...tapped(tapLog, process.execPath, [fetchServer]) }],
    });
  }, 90_000);

  afterAll(async () => {
    await h?.close();
    await new Promise<void>((resolve) => intranet.close(() => resolve()));
    rmSync(bundle, { recursive: true, force: true });
    rmSync(tapLog, { force: true });
  });

  it('denies a host off the allow-list, the metadata address and a name resolving to 127.0.0.1: a deny row each, destination and user in it, the tool never called', async () => {
    const client = await h.connect(await h.token('alice'));
    const cases = [
      { url: 'https://evil.example.net/exfil?d=1', destination: 'https://evil.example.net:443', reason: DENY_REASONS.EGRESS_NOT_ALLOWED },
      { url: 'http://169.254.169.254/latest/meta-data/iam/', destination: 'http://169.254.169.254:80', reason: DENY_REASONS.EGRESS_PRIVATE_ADDRESS },
      { url: `http://localhost:${port}/admin`, destination: `http://localhost:${port}`, reason: DENY_REASONS.EGRESS_PRIVATE_ADDRESS },
    ];
    for (const c of cases) {
      const result = await client.callTool({ name: 'web__fetch', arguments: { url: c.url } });
      expect(result.isError, c.url).toBe(true);
      const rows = (await h.auditRecords()).filter((r) => r.tool?.name === 'fetch' && r.event === 'deny');
      expect(rows.at(-1), c.url).toMatchObject({
        user: { sub: 'alice' },
        policy: { decision: 'deny', reasons: [c.reason] },
        egress: { destination: c.destination, payload_sha256: digestJson({ url: c.url }) },
      });
    }
    expect(hits).toEqual([]);
    expect(toolCalls()).toEqual([]);
  });

  it('fetches an allowed destination; the intent and result rows carry the destination and the payload hash', async () => {
    const client = await h.connect(await h.token('alice'));
    const args = { url: `http://127.0.0.1:${port}/wiki/page` };
    const result = await client.callTool({ name: 'web__fetch', arguments: args });
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(result.content)).toContain('hello from the intranet');
    expect(hits).toEqual(['/wiki/page']);
    expect(toolCalls()).toEqual([args]);
    const rows = (await h.auditRecords()).filter((r) => r.tool?.name === 'fetch' && (r.event === 'intent' || r.event === 'result'));
    const egress = { destination: `http://127.0.0.1:${port}`, payload_sha256: digestJson(args) };
    expect(rows.map((r) => [r.event, r.egress])).toEqual([
      ['intent', egress],
      ['result', egress],
    ]);
  });

  it('denies a URL hidden anywhere in the arguments of an egress tool', async () => {
    const client = await h.connect(await h.token('alice'));
    const result = await client.callTool({ name: 'web__fetch', arguments: { url: `http://127.0.0.1:${port}/ok`, note: 'also see http://169.254.169.254/' } });
    expect(result.isError).toBe(true);
    const row = (await h.auditRecords()).filter((r) => r.event === 'deny').at(-1);
    expect(row).toMatchObject({
      user: { sub: 'alice' },
      policy: { reasons: [DENY_REASONS.EGRESS_PRIVATE_ADDRESS] },
      egress: { destination: 'http://169.254.169.254:80' },
    });
    expect(hits).toEqual(['/wiki/page']);
  });
});
