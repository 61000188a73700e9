/**
 * Tenants and "no user, no PHI" end to end: a user of one tenant naming another tenant's
 * record (by path or by argument) is denied with tenant_mismatch, the row carrying her
 * tenant, e-mail and trace id; a service credential without a user never reaches a PHI tool.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/kernel/index.js';
import { DEMO_USERS, startHarness } from './harness.js';
import type { Harness } from './harness.js';

type TextResult = { isError?: boolean; content: Array<{ type: string; text?: string }> };
const textOf = (r: unknown): string => (r as TextResult).content.map((c) => c.text ?? '').join('\n');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = `00-${TRACE}-00f067aa0ba902b7-01`;
const ERIN = { username: 'erin', sub: 'erin', roles: ['clinician'] }; // no tenant claim

describe('tenants', () => {
  let h: Harness;
  let alice: string;
  const file = (tenant: string, name: string): string => path.join(h.workspace, 'tenants', tenant, 'phi', name);
  const lastRow = async (event: string): Promise<AuditRecord> => (await h.auditRecords()).filter((r) => r.event === event).at(-1)!;
  const authorize = (token: string, args: Record<string, unknown>) =>
    fetch(`${h.custos.url}/v1/authorize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', traceparent },
      body: JSON.stringify({ tool: { server: 'filesystem', name: 'read_text_file' }, arguments: args, agent: { name: 'framework-agent' } }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

  beforeAll(async () => {
    h = await startHarness({ users: [...DEMO_USERS, ERIN] });
    alice = await h.token('alice');
  });
  afterAll(async () => h?.close());

  it('denies alice (general-hospital) a riverside-clinic record, without calling the upstream; the row says why', async () => {
    const client = await h.connect(alice);
    const before = h.upstreamCalls().length;
    const result = await client.callTool({ name: 'filesystem__read_text_file', arguments: { path: file('riverside-clinic', 'patient-9001.md') } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('tenant_mismatch');
    expect(textOf(result)).not.toContain('sprained');
    expect(h.upstreamCalls().length).toBe(before);
    expect(await lastRow('deny')).toMatchObject({
      user: { sub: 'alice', tenant: 'general-hospital', email: 'alice@example.test' },
      policy: { decision: 'deny', reasons: ['tenant_mismatch'] },
      tool: { server: 'filesystem', name: 'read_text_file' },
    });
  });

  it('lets her read her own tenant, the rows carrying tenant, e-mail and trace id', async () => {
    const result = await authorize(alice, { path: file('general-hospital', 'patient-1001.md') });
    expect(result.body).toMatchObject({ decision: 'allow' });
    expect(await lastRow('intent')).toMatchObject({
      user: { sub: 'alice', tenant: 'general-hospital', email: 'alice@example.test' },
      trace_id: TRACE,
      data_classes: ['phi'],
    });
  });

  it('denies a tenant named in an argument, and a path that climbs into another tenant', async () => {
    const byArgument = await authorize(alice, { path: file('general-hospital', 'patient-1001.md'), tenant: 'riverside-clinic' });
    expect(byArgument.body).toMatchObject({ decision: 'deny', reasons: ['tenant_mismatch'] });
    expect(await lastRow('deny')).toMatchObject({
      user: { sub: 'alice', tenant: 'general-hospital' },
      trace_id: TRACE,
      policy: { reasons: ['tenant_mismatch'] },
    });
    const raw = `${path.join(h.workspace, 'tenants/general-hospital')}/../riverside-clinic/phi/patient-9001.md`;
    expect((await authorize(alice, { path: raw })).body).toMatchObject({ decision: 'deny', reasons: ['tenant_mismatch'] });
  });

  it('denies a user without a tenant claim any tenant-scoped record', async () => {
    const erin = await h.token('erin');
    expect((await authorize(erin, { path: file('general-hospital', 'patient-1001.md') })).body).toMatchObject({
      decision: 'deny',
      reasons: ['tenant_mismatch'],
    });
    expect((await lastRow('deny')).user).toMatchObject({ sub: 'erin' });
  });
});

describe('no user, no PHI', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(); // the default config: no interactive-client list at the issuer
  });
  afterAll(async () => h?.close());

  it('refuses a service credential (client credentials: sub = client_id, no user) a PHI read at both doors, and records it', async () => {
    const service = await h.agentToken('research-agent');
    const note = path.join(h.workspace, 'phi/patient-0001.md');
    const before = h.upstreamCalls().length;
    const api = await fetch(`${h.custos.url}/v1/authorize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tool: { server: 'filesystem', name: 'read_text_file' }, arguments: { path: note }, agent: { name: 'research-agent' } }),
    });
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('ERR_IDENTITY_CLIENT_NOT_INTERACTIVE');
    const row = (await h.auditRecords()).filter((r) => r.event === 'deny').at(-1)!;
    expect(row).toMatchObject({
      user: { sub: 'research-agent' },
      policy: { decision: 'deny', reasons: ['no_user'] },
      tool: { name: 'read_text_file' },
      data_classes: ['phi'],
    });
    await expect(h.connect(service)).rejects.toThrow(/ERR_IDENTITY_CLIENT_NOT_INTERACTIVE/);
    expect((await h.auditRecords()).at(-1)).toMatchObject({ event: 'alert', user: { sub: 'research-agent' }, alert: { type: 'no_user' } });
    expect(h.upstreamCalls().length).toBe(before);
    expect((await h.auditRecords()).some((r) => r.event === 'intent' && r.user.sub === 'research-agent')).toBe(false);
  });
});
