/**
 * Background grants survive a restart: alice's standing grant for the nightly runner, created
 * before Custos restarts (a new Custos on the same files and signing keys), still lets the
 * runner in afterwards; a grant she revoked before the restart stays revoked.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, startCustos } from '../../src/app/index.js';
import type { CustosInstance } from '../../src/app/index.js';
import { resolveConfig } from '../../src/config/index.js';
import type { CustosConfigInput } from '../../src/config/index.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const GRANT = 'urn:custos:params:oauth:token-type:background-grant';
type Json = Record<string, unknown>;

async function exchange(url: string, grantToken: string, actor: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: EXCHANGE, subject_token: grantToken, subject_token_type: GRANT, actor_token: actor, actor_token_type: ACCESS }),
  });
  return { status: response.status, body: (await response.json()) as Json };
}

describe('background grants across a restart', () => {
  let h: Harness;
  let raw: CustosConfigInput;
  let restarted: CustosInstance | undefined;

  beforeAll(async () => {
    h = await startHarness({
      configure: (input) => (raw = { ...input, identity: { ...input.identity, delegation: { keysDir: 'keys' } } }),
    });
  });
  afterAll(async () => {
    await restarted?.close();
    await h?.close();
  });

  it('keeps a live grant working and a revoked grant revoked', async () => {
    const [alice, runner] = await Promise.all([h.token('alice'), h.agentToken('nightly-runner')]);
    const grant = async (): Promise<Json> => {
      const created = await post(`${h.custos.url}/v1/grants/background`, alice, { client_id: 'nightly-runner', scope: 'mcp', ttl_sec: 3600 });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return created.body;
    };
    const live = await grant();
    const revoked = await grant();
    expect((await post(`${h.custos.url}/v1/grants/background/revoke`, alice, { grant_id: revoked.grant_id as string })).status).toBe(200);

    await h.custos.close();
    restarted = await startCustos(resolveConfig(raw, { source: 'harness', baseDir: h.dir }), { logger: createLogger('silent') });
    expect(restarted.url).toBe(h.custos.url);

    const accepted = await exchange(restarted.url, live.grant_token as string, runner);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    const note = path.join(h.workspace, 'notes/handbook.md');
    const decision = await post(`${restarted.url}/v1/authorize`, accepted.body.access_token as string, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: note },
      agent: { name: 'nightly-runner', tier: 'background' },
    });
    expect(decision.body).toMatchObject({ decision: 'allow' });

    const refused = await exchange(restarted.url, revoked.grant_token as string, runner);
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_grant', reason: 'grant_revoked' } });
    const rows: AuditRecord[] = [];
    for await (const r of restarted.store.read()) rows.push(r);
    expect(rows.filter((r) => r.event === 'deny').at(-1)).toMatchObject({ user: { sub: 'alice' }, policy: { reasons: ['delegation_grant_revoked'] } });
  });
});
