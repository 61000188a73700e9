/**
 * Revocation ends the user's open MCP sessions (issue 7, defect 9), in process: a fake
 * revocation feed announces (or only stores) revocations; tokens are `sub:sid`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CustosError } from '../../kernel/index.js';
import type { Principal, Revocation, RevocationFeed, TokenVerifier } from '../../kernel/index.js';
import { createGateway } from '../gateway.js';
import { startGatewayServer } from '../server.js';
import type { GatewayServer } from '../server.js';
import { createEmptyUpstreams, createFakePolicy, createManualClock, createSilentLogger, createTestPipeline, deriveFakeAgent } from '../fakes.test-support.js';
import { coveredBy } from './session-revocation.js';

const ISS = 'https://idp.test';
const clock = createManualClock();
const policy = createFakePolicy();
const { pipeline, audit } = createTestPipeline(policy);
const released: string[] = [];
let server: GatewayServer;
let url: string;

/** `Bearer alice:s1` is alice in IdP session s1. */
const verifier: TokenVerifier = {
  async verify(token) {
    const [sub, sid] = token.split(':');
    if (!sub || !sid) throw new CustosError('ERR_IDENTITY_SIGNATURE_INVALID');
    return { sub, iss: ISS, roles: [], groups: [], sessionId: sid } satisfies Principal;
  },
};

/** Revocations kept in memory; `announce: false` stores one without telling anyone (a missed NOTIFY). */
const stored: Revocation[] = [];
const listeners = new Set<(r: Revocation) => void>();
const feed: RevocationFeed = {
  onRevoked(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  async revocationSince(who, sinceMs) {
    return stored.find((r) => r.iss === who.iss && (r.sid !== undefined ? who.sessionIds.includes(r.sid) : r.sub === who.sub && r.atMs >= sinceMs));
  },
};
function revoke(r: Omit<Revocation, 'iss' | 'atMs'>, announce = true): void {
  const full = { iss: ISS, atMs: clock.now().getTime(), ...r };
  stored.push(full);
  if (announce) for (const l of listeners) l(full);
}

function post(token: string, body: unknown, session?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...(session ? { 'mcp-session-id': session } : {}),
    },
    body: JSON.stringify(body),
  });
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

async function open(token: string): Promise<string> {
  const res = await post(token, initialize);
  await res.body?.cancel();
  expect(res.status).toBe(200);
  return res.headers.get('mcp-session-id')!;
}

async function statusOf(token: string, session: string): Promise<number> {
  const res = await post(token, list, session);
  await res.body?.cancel();
  return res.status;
}

const endedRows = () => audit.rows.filter((r) => r.event === 'admin' && r.policy.reasons.includes('mcp_session_ended'));

beforeAll(async () => {
  const gateway = createGateway({
    verifier,
    pipeline,
    policy,
    upstreams: { ...createEmptyUpstreams(), releaseSession: async (session: string) => void released.push(session) },
    deriveAgent: deriveFakeAgent,
    resourceUrl: 'http://127.0.0.1:1/mcp',
    authorizationServers: [ISS],
    logger: createSilentLogger(),
    clock,
    identity: { revocations: feed },
  });
  server = await startGatewayServer(gateway, { host: '127.0.0.1', port: 0 });
  url = `${server.url}/mcp`;
});
afterAll(async () => server?.close());

describe('revocation ends the user’s open MCP sessions', () => {
  it('an announced user revocation ends her sessions at once: the old id is 404 with a later token, a new session works, a row names her', async () => {
    const mine = await open('carol:s1');
    const other = await open('dave:s2');
    clock.advance(1000);
    const rowsBefore = endedRows().length;
    const releasedBefore = released.length;
    revoke({ sub: 'carol' });
    // ended before any request comes: its upstream connections released, its row written
    await vi.waitFor(() => expect(released.length).toBe(releasedBefore + 1));
    await vi.waitFor(() => expect(endedRows().length).toBe(rowsBefore + 1));
    clock.advance(1000);
    // a token issued after the revocation (another IdP session) does not revive the old MCP session
    expect(await statusOf('carol:s3', mine)).toBe(404);
    expect(await statusOf('dave:s2', other)).toBe(200);
    const row = endedRows().slice(rowsBefore);
    expect(row).toHaveLength(1);
    expect(row[0]).toMatchObject({
      user: { sub: 'carol', iss: ISS, session_id: 's1' },
      detail: { action: 'mcp_session_ended', reason: 'session_revoked', mcp_session: mine, revocation: { iss: ISS, sub: 'carol' } },
    });
    const fresh = await open('carol:s3');
    expect(await statusOf('carol:s3', fresh)).toBe(200);
  });

  it('an IdP session revocation ends every MCP session that carried a token of that sid', async () => {
    const opened = await open('erin:a');
    const laterUsedWithB = await open('erin:c');
    expect(await statusOf('erin:b', laterUsedWithB)).toBe(200); // same user, a token of another IdP session
    const untouched = await open('erin:c2');
    revoke({ sid: 'b' });
    expect(await statusOf('erin:c', laterUsedWithB)).toBe(404);
    expect(await statusOf('erin:a', opened)).toBe(200);
    expect(await statusOf('erin:c2', untouched)).toBe(200);
  });

  it('a session that missed the announcement is ended on its next request, with its row', async () => {
    const mine = await open('frank:s1');
    clock.advance(1000);
    revoke({ sub: 'frank' }, false);
    const before = endedRows().length;
    expect(await statusOf('frank:s9', mine)).toBe(404);
    expect(endedRows().slice(before)).toEqual([expect.objectContaining({ user: expect.objectContaining({ sub: 'frank' }) })]);
    expect(await statusOf('frank:s9', mine)).toBe(404);
    expect(endedRows().length).toBe(before + 1);
  });
});

describe('coveredBy', () => {
  const session = { principal: { sub: 'alice', iss: ISS, roles: [], groups: [] }, openedAt: 1000, sessionIds: new Set(['s1']) };
  it('covers a revoked sid it carried, and a user revocation at or after it opened, of its issuer only', () => {
    expect(coveredBy(session, { iss: ISS, sid: 's1', atMs: 0 })).toBe(true);
    expect(coveredBy(session, { iss: ISS, sid: 's2', atMs: 5000 })).toBe(false);
    expect(coveredBy(session, { iss: ISS, sub: 'alice', atMs: 1000 })).toBe(true);
    expect(coveredBy(session, { iss: ISS, sub: 'alice', atMs: 999 })).toBe(false);
    expect(coveredBy(session, { iss: ISS, sub: 'bob', atMs: 5000 })).toBe(false);
    expect(coveredBy(session, { iss: 'https://other', sub: 'alice', atMs: 5000 })).toBe(false);
  });
});
