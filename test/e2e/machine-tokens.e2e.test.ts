/**
 * No user, no call, for every IdP (164.312(a)(1)): machine tokens in the shapes Entra ID,
 * Auth0, Keycloak and Okta mint for client credentials, from a trusted issuer whose config
 * lists no `interactiveClients` (as the quick start's does not), are refused a PHI read with
 * reason `no_user`; the same issuer's user token is not.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKey, signTestToken, startTestIssuer } from '../../src/identity/index.test-support.js';
import type { TestIssuer, TestKey } from '../../src/identity/index.test-support.js';
import { repoRoot, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const SHAPES: ReadonlyArray<[string, Record<string, unknown>]> = [
  ['Entra ID app-only (idtyp: app)', { sub: '5b1c0f3e-aaaa-4bbb-8ccc-0123456789ab', azp: 'e7f6d5c4-app', idtyp: 'app', roles: ['clinician'] }],
  ['Auth0 client credentials (gty)', { sub: 'Xy12AbCd@clients', azp: 'Xy12AbCd', gty: 'client-credentials', roles: ['clinician'] }],
  [
    'Keycloak service account',
    { sub: '0a9b8c7d-1111-2222-3333-444455556666', azp: 'reporting', preferred_username: 'service-account-reporting', roles: ['clinician'] },
  ],
  ['Okta client credentials (cid = sub)', { sub: '0oa1b2c3d4EXAMPLE', cid: '0oa1b2c3d4EXAMPLE', roles: ['clinician'] }],
  ['a client_credentials grant named in the token', { sub: 'svc-42', grant_type: 'client_credentials', roles: ['clinician'] }],
];

describe('no user, no call: machine tokens of every IdP', () => {
  let h: Harness;
  let idp: TestIssuer;
  let key: TestKey;
  let audience = '';

  beforeAll(async () => {
    key = await createTestKey('machine-e2e');
    idp = await startTestIssuer([key]);
    h = await startHarness({
      configure: (raw, ctx) => {
        audience = ctx.audience;
        const extra = {
          issuer: idp.issuer,
          audience: ctx.audience,
          jwksUri: idp.jwksUri,
          algorithms: ['ES256' as const],
          claims: { roles: 'roles', tenant: 'tenant' },
        };
        return { ...raw, identity: { ...raw.identity, issuers: [...(raw.identity?.issuers ?? []), extra] } };
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await idp?.close();
  });

  const authorize = async (claims: Record<string, unknown>) => {
    const token = await signTestToken(key, { iss: idp.issuer, aud: audience, tenant: 'general-hospital', ...claims });
    const res = await fetch(`${h.custos.url}/v1/authorize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        tool: { server: 'filesystem', name: 'read_text_file' },
        arguments: { path: path.join(h.workspace, 'phi/patient-0001.md') },
        agent: { name: 'e2e-agent' },
      }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
  };

  it.each(SHAPES)('refuses %s a PHI read with reason no_user, recorded under its sub', async (_name, claims) => {
    const answer = await authorize(claims);
    expect(answer.status).toBe(401);
    expect(answer.body.error?.code).toBe('ERR_IDENTITY_CLIENT_NOT_INTERACTIVE');
    const row = (await h.auditRecords()).at(-1)!;
    expect(row).toMatchObject({
      event: 'deny',
      user: { sub: claims.sub, iss: idp.issuer },
      policy: { decision: 'deny', reasons: ['no_user'] },
      tool: { server: 'filesystem', name: 'read_text_file' },
      data_classes: ['phi'],
    });
  });

  it('lets a user token of the same issuer through (Entra idtyp: user, Okta cid ≠ sub)', async () => {
    const answer = await authorize({ sub: 'carol', idtyp: 'user', cid: '0oaWEBAPP', preferred_username: 'carol@example.test', roles: ['clinician'] });
    expect(answer.status).toBe(200);
    expect(answer.body.decision).toBe('allow');
    expect((await h.auditRecords()).at(-1)).toMatchObject({ event: 'intent', user: { sub: 'carol' } });
  });

  it("is the quick start's own setting: its config lists no interactiveClients, so the markers alone close the gap", () => {
    const quickstart = parse(readFileSync(path.join(repoRoot, 'examples/quickstart/custos.yaml'), 'utf8')) as { identity: { issuers: object[] } };
    expect(quickstart.identity.issuers.length).toBeGreaterThan(0);
    for (const issuer of quickstart.identity.issuers) expect(issuer).not.toHaveProperty('interactiveClients');
  });
});
