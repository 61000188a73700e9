/**
 * Break-glass end to end (164.312(a)(2)(ii)): dana (break-glass, not a clinician) opens a
 * time-boxed grant with a written reason, reads a patient note under it, and a second person
 * closes the review with the CLI. Every step is a row of the same verifiable chain.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import type { AuditRecord } from '../../src/kernel/index.js';
import { EMERGENCY_USERS } from './emergency-users.js';
import { startHarness } from './harness.js';
import type { Harness } from './harness.js';
import { post } from './http.js';

async function cli(args: string[]): Promise<{ code: number | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _e, cb) {
        append(chunk.toString());
        cb();
      },
    });
  const code = await runCli(args, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}

describe('break-glass from grant to review', () => {
  let h: Harness;
  let dana: string;
  let carol: string;
  let bob: string;
  let note: string;
  const records = (): Promise<AuditRecord[]> => h.auditRecords();
  const authorize = (token: string) =>
    post(`${h.custos.url}/v1/authorize`, token, {
      tool: { server: 'filesystem', name: 'read_text_file' },
      arguments: { path: note },
      agent: { name: 'ed-assistant' },
    });

  beforeAll(async () => {
    h = await startHarness({ users: EMERGENCY_USERS });
    [dana, carol, bob] = await Promise.all([h.token('dana'), h.token('carol'), h.token('bob')]);
    note = path.join(h.workspace, 'phi/patient-0001.md');
  });
  afterAll(async () => h?.close());

  it('refuses a user without the entitlement, and a grant without a reason', async () => {
    const refused = await post(`${h.custos.url}/v1/emergency/grants`, bob, { reason: 'curious' });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'ERR_IDENTITY_NOT_ENTITLED' } } });
    expect((await records()).at(-1)).toMatchObject({
      event: 'admin',
      user: { sub: 'bob' },
      policy: { decision: 'deny', reasons: ['emergency_grant_refused'] },
    });
    expect((await post(`${h.custos.url}/v1/emergency/grants`, dana, { reason: '' })).status).toBe(400);
  });

  it('runs the whole break-glass session, every step in the trail', async () => {
    // before the grant: dana may not read PHI
    expect((await authorize(dana)).body).toMatchObject({ decision: 'deny', reasons: ['phi_requires_clinician'] });

    const opened = await post(`${h.custos.url}/v1/emergency/grants`, dana, {
      reason: 'Unconscious patient in ED, allergy list needed (SSN 123-45-6789 on wristband)',
    });
    expect(opened.status).toBe(201);
    const grantId = String(opened.body.grant_id);
    const ttl = Date.parse(String(opened.body.expires_at)) - Date.now();
    expect(ttl).toBeGreaterThan(3500_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);

    const allowed = await authorize(dana);
    expect(allowed.body).toMatchObject({ decision: 'allow', reasons: ['emergency_access'], policy: { determining_policies: ['emergency-read'] } });
    // the same grant covers her MCP agent: PHI comes back redacted, the rows carry access.emergency
    const mcp = await (await h.connect(dana, 'ed-assistant')).callTool({ name: 'filesystem__read_text_file', arguments: { path: note } });
    expect(mcp.isError).toBeFalsy();
    expect(JSON.stringify(mcp.content)).toContain('[redacted:ssn]');
    const mcpResult = (await records()).filter((r) => r.event === 'result').at(-1)!;
    expect(mcpResult).toMatchObject({ user: { sub: 'dana' }, access: { emergency: true, grant_id: grantId }, agent: { name: 'ed-assistant' } });

    const reviews = await fetch(`${h.custos.url}/v1/emergency/reviews`, { headers: { authorization: `Bearer ${carol}` } });
    expect(((await reviews.json()) as { reviews: Array<{ grant_id: string }> }).reviews.map((r) => r.grant_id)).toContain(grantId);
    const listed = await cli(['review', 'list', '--store', h.storeUri]);
    expect(listed.out).toContain(grantId);
    expect(listed.out).toMatch(/holder=dana .*calls=2 +OPEN/);

    // the holder may not close her own review; nor may someone without a reviewer role
    const self = await cli(['review', 'close', grantId, '--url', h.custos.url, '--token', dana]);
    expect(self).toMatchObject({ code: 1, err: expect.stringContaining('ERR_IDENTITY_NOT_ENTITLED') });
    expect((await post(`${h.custos.url}/v1/emergency/reviews/close`, bob, { grant_id: grantId })).status).toBe(403);

    const closed = await cli(['review', 'close', grantId, '--url', h.custos.url, '--token', carol, '--note', 'justified: ED admission 02:14']);
    expect(closed).toMatchObject({ code: 0, out: expect.stringContaining('closed by carol') });
    expect((await cli(['review', 'list', '--store', h.storeUri])).out).toContain('0 review(s) open');
    expect((await cli(['review', 'list', '--all', '--store', h.storeUri])).out).toContain('closed_by=carol');

    const trail = await records();
    const steps = trail.filter((r) => r.detail?.grant_id === grantId || r.access?.grant_id === grantId);
    const step = (event: string, reason: string) => steps.find((r) => r.event === event && r.policy.reasons.includes(reason));
    expect(step('admin', 'emergency_grant_opened')).toMatchObject({ user: { sub: 'dana', email: 'dana@example.test' } });
    expect(JSON.stringify(step('admin', 'emergency_grant_opened'))).not.toContain('123-45-6789');
    expect(JSON.stringify(step('admin', 'emergency_grant_opened'))).toContain('[redacted:ssn]');
    expect(step('alert', 'emergency_access')).toMatchObject({ alert: { type: 'emergency_access', severity: 'high' }, user: { sub: 'dana' } });
    expect(step('intent', 'emergency_access')).toMatchObject({ user: { sub: 'dana' }, access: { emergency: true, grant_id: grantId }, data_classes: ['phi'] });
    expect(step('admin', 'emergency_review_refused')).toMatchObject({ user: { sub: 'dana' }, policy: { decision: 'deny' } });
    expect(step('admin', 'emergency_review_closed')).toMatchObject({ user: { sub: 'carol' }, detail: { holder: { sub: 'dana' } } });
    const verify = await cli(['audit', 'verify', '--store', h.storeUri]);
    expect(verify).toMatchObject({ code: 0, out: expect.stringContaining('intact') });
  });

  it('does not let anyone else ride on the grant', async () => {
    expect((await authorize(bob)).body).toMatchObject({ decision: 'deny', reasons: ['phi_requires_clinician'] });
    // dana's other sign-in (another IdP session) is not covered by the grant of her first session
    expect((await authorize(await h.token('dana'))).body).toMatchObject({ decision: 'deny', reasons: ['phi_requires_clinician'] });
  });
});
