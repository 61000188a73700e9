/**
 * Client ID metadata documents: the official MCP SDK client, given Custos' /mcp URL and the
 * https URL of its own metadata document (served here on 127.0.0.1 with a test CA), uses that
 * URL as its client_id (no registration), signs alice in through the dev provider and calls a
 * tool as alice. A document naming another client_id, a redirect_uri the document does not
 * list, a secret-bearing document and an unreachable document are each refused with a clear error.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort, signInDevUser, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { MemoryOAuthProvider } from './oauth-client.js';
import { makeTestPki } from './tls-pki.js';

describe('client ID metadata documents (MCP authorization without registration)', () => {
  let h: Harness;
  let docs: Server;
  let base = '';
  const fetched: string[] = [];
  const redirectUrl = new MemoryOAuthProvider().redirectUrl;
  const documents: Record<string, (url: string) => object> = {
    '/clients/good.json': (url) => ({ client_id: url, client_name: 'cimd e2e', redirect_uris: [redirectUrl], grant_types: ['authorization_code'] }),
    '/clients/other-id.json': () => ({ client_id: `${base}/clients/good.json`, redirect_uris: [redirectUrl] }),
    '/clients/secret.json': (url) => ({ client_id: url, client_secret: 'shh', redirect_uris: [redirectUrl] }),
  };

  beforeAll(async () => {
    const pki = makeTestPki(mkdtempSync(path.join(tmpdir(), 'custos-cimd-')));
    docs = createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
      fetched.push(req.url ?? '');
      const make = documents[req.url ?? ''];
      if (!make) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(JSON.stringify(make(`${base}${req.url}`)));
    });
    await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    h = await startHarness({ clientMetadataCa: pki.ca });
  });
  afterAll(async () => {
    await h?.close();
    docs?.closeAllConnections();
    docs?.close();
  });

  /** The provider's authorization endpoint answer (JSON) for a client id and redirect. */
  async function authorize(clientId: string, redirectUri = redirectUrl): Promise<{ status: number; body: Record<string, unknown> }> {
    const meta = (await (await fetch(`${h.issuer}/.well-known/openid-configuration`)).json()) as { authorization_endpoint: string };
    const url = new URL(meta.authorization_endpoint);
    const params = { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid mcp', resource: h.mcpUrl };
    for (const [k, v] of Object.entries({ ...params, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })) url.searchParams.set(k, v);
    const res = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('advertises support in the authorization server metadata', async () => {
    const meta = (await (await fetch(`${h.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta.client_id_metadata_document_supported).toBe(true);
  });

  it('the SDK client uses its document URL as client_id, signs alice in and calls a tool as alice', async () => {
    const oauth = new MemoryOAuthProvider();
    oauth.clientMetadataUrl = `${base}/clients/good.json`;
    const transport = new StreamableHTTPClientTransport(new URL(h.mcpUrl), { authProvider: oauth });
    await expect(new Client({ name: 'cimd', version: '1.0.0' }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(oauth.info).toEqual({ client_id: oauth.clientMetadataUrl, issuer: h.issuer }); // no registration, no secret
    expect(oauth.authorizationUrl!.searchParams.get('client_id')).toBe(oauth.clientMetadataUrl);

    const callback = await signInDevUser(oauth.authorizationUrl!, 'alice', oauth.redirectUrl);
    await transport.finishAuth(callback.searchParams.get('code')!);
    expect(decodeJwt(oauth.saved!.access_token)).toMatchObject({ iss: h.issuer, sub: 'alice', aud: h.mcpUrl, client_id: oauth.clientMetadataUrl });
    expect(fetched).toContain('/clients/good.json');

    const client = new Client({ name: 'cimd', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(h.mcpUrl), { authProvider: oauth }));
    try {
      const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: path.join(h.workspace, 'phi/patient-0001.md') } });
      expect(result.isError).toBeFalsy();
      const row = (await h.auditRecords()).filter((r) => r.event === 'result').at(-1)!;
      expect(row).toMatchObject({ user: { sub: 'alice', iss: h.issuer }, tool: { server: 'filesystem', name: 'read_text_file' } });
    } finally {
      await client.close();
    }
  });

  it('refuses a document whose client_id differs from its URL', async () => {
    const { status, body } = await authorize(`${base}/clients/other-id.json`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: 'invalid_client', error_description: 'client ID metadata document: its client_id differs from the URL it was fetched from' });
  });

  it('refuses a redirect_uri the document does not list', async () => {
    const { status, body } = await authorize(`${base}/clients/good.json`, 'http://127.0.0.1:1/elsewhere');
    expect(status).toBe(400);
    expect(body.error).toBe('invalid_redirect_uri');
  });

  it('refuses a document carrying a client secret (public clients only)', async () => {
    const { status, body } = await authorize(`${base}/clients/secret.json`);
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: 'invalid_client', error_description: expect.stringContaining('public clients only') });
  });

  it('refuses an unreachable document and a missing one', async () => {
    const closed = `https://127.0.0.1:${await freePort()}/clients/gone.json`;
    const unreachable = await authorize(closed);
    expect(unreachable.status).toBe(400);
    expect(unreachable.body).toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringContaining('could not be fetched: connect ECONNREFUSED'),
    });
    const missing = await authorize(`${base}/clients/missing.json`);
    expect(missing.body).toMatchObject({ error: 'invalid_client', error_description: 'client ID metadata document: could not be fetched: answered HTTP 404' });
  });
});
