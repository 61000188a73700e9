/**
 * Connect by URL: the official MCP SDK client's OAuth support, given nothing but Custos' /mcp
 * URL, discovers the protected resource and the dev provider, registers itself (RFC 7591),
 * signs alice in through the provider's login page (its interaction endpoints, over plain
 * HTTP) with PKCE and an RFC 8707 resource indicator, and calls a tool as alice.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { signInDevUser, startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { MemoryOAuthProvider } from './oauth-client.js';

describe('connect by URL (MCP authorization flow against the quick start provider)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it('discovers, registers, signs alice in through the login page, and calls a tool as alice', async () => {
    const oauth = new MemoryOAuthProvider();
    const first = new Client({ name: 'connect-by-url', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(h.mcpUrl), { authProvider: oauth });
    await expect(first.connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);

    // The SDK registered itself dynamically and sent the user to the provider with PKCE and the resource.
    expect(oauth.info?.client_id).toEqual(expect.any(String));
    const authorizationUrl = oauth.authorizationUrl!;
    expect(authorizationUrl.origin).toBe(h.issuer);
    expect(authorizationUrl.searchParams.get('client_id')).toBe(oauth.info!.client_id);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationUrl.searchParams.get('resource')).toBe(h.mcpUrl);
    expect(authorizationUrl.searchParams.has('login_hint')).toBe(false); // the login page, not the hint

    const callback = await signInDevUser(authorizationUrl, 'alice', oauth.redirectUrl);
    await transport.finishAuth(callback.searchParams.get('code')!);
    const claims = decodeJwt(oauth.saved!.access_token);
    expect(claims).toMatchObject({ iss: h.issuer, sub: 'alice', aud: h.mcpUrl, client_id: oauth.info!.client_id });

    const client = new Client({ name: 'connect-by-url', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(h.mcpUrl), { authProvider: oauth }));
    try {
      const note = path.join(h.workspace, 'phi/patient-0001.md');
      const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: note } });
      expect(result.isError).toBeFalsy();
      const rows = await h.auditRecords();
      const result_row = rows.filter((r) => r.event === 'result').at(-1)!;
      expect(result_row).toMatchObject({ user: { sub: 'alice', iss: h.issuer }, tool: { server: 'filesystem', name: 'read_text_file' } });
    } finally {
      await client.close();
    }
  });

  it('shows the login page again for a name that is no demo user, and issues no code', async () => {
    const oauth = new MemoryOAuthProvider();
    const transport = new StreamableHTTPClientTransport(new URL(h.mcpUrl), { authProvider: oauth });
    await expect(new Client({ name: 'connect-by-url', version: '1.0.0' }).connect(transport)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(signInDevUser(oauth.authorizationUrl!, 'mallory', oauth.redirectUrl)).rejects.toThrow(/HTTP 400/);
  });
});
