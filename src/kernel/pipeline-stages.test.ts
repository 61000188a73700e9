/**
 * The orchestrator's stages: tier check, break-glass, the list filter's evaluation (the same
 * stages, no rows), the confirmation asker, cancellation and the monitor hook. Each test
 * fails if its stage is missing from the pipeline.
 */
import { describe, expect, it, vi } from 'vitest';
import { createMemoryAudit } from '../audit/index.test-support.js';
import { ALL_DENY_REASONS, DENY_REASONS } from './deny-reasons.js';
import { CANCELLED, PIPELINE_STAGES, createPipeline } from './pipeline.js';
import type { PipelineDeps } from './pipeline.js';
import type { ActivePolicy, DecisionInput, Protector } from './ports.js';
import type { ToolCall } from './types.js';

const protector: Protector = {
  classify: () => [],
  extractTenants: (c) => [String((c.arguments as { tenant?: string } | undefined)?.tenant ?? '')].filter(Boolean),
  redact: <T>(value: T) => {
    const text = JSON.stringify(value ?? null);
    const count = text.split('SECRET').length - 1;
    return { value: JSON.parse(text.replaceAll('SECRET', '[redacted:secret]')) as T, count, types: count ? ['secret'] : [] };
  },
};

/** Allows read tools, and PHI reads only under break-glass. */
function bundle(seen: DecisionInput[] = []): ActivePolicy {
  return {
    bundleHash: 'b'.repeat(64),
    classificationRules: [],
    tenancyRules: { arguments: ['tenant'], paths: [] },
    classifyTool: () => ({ classes: ['read'] }),
    decide(input) {
      seen.push(input);
      const allowed = input.tool.name !== 'read_chart' || input.emergency === true;
      return {
        decision: allowed ? 'allow' : 'deny',
        reasons: allowed ? [] : ['phi_requires_clinician'],
        bundleHash: 'b'.repeat(64),
        determiningPolicies: ['p'],
      };
    },
  };
}

function call(overrides: Partial<ToolCall> = {}): ToolCall {
  return {
    requestId: 'req-1',
    kind: 'tool',
    tool: { server: 'ehr', name: 'read_chart' },
    arguments: { patient: '1' },
    principal: { sub: 'dana', iss: 'https://idp', tenant: 'A', roles: [], groups: [], sessionId: 'S1' },
    agent: { name: 'agent', tier: 'interactive', delegationChain: ['user:dana', 'agent:agent'] },
    ...overrides,
  };
}

function setup(extra: Partial<PipelineDeps> = {}, seen: DecisionInput[] = []) {
  const audit = createMemoryAudit();
  const pipeline = createPipeline({
    policy: { current: () => bundle(seen) },
    protector,
    audit,
    clock: { now: () => new Date(0) },
    ids: { newId: () => 'id' },
    ...extra,
  });
  return { audit, pipeline };
}

const grantFor = (sessionId: string) => ({
  activeGrant: vi.fn(async (p: { sessionId?: string }) => (p.sessionId === sessionId ? { grantId: 'g-1' } : undefined)),
});

describe('the pipeline stages', () => {
  it('are named, in order, from the bounds check to the monitor', () => {
    expect(PIPELINE_STAGES).toEqual([
      'bound',
      'classify',
      'identity',
      'tier',
      'limits',
      'door',
      'kill_switch',
      'tool_drift',
      'break_glass',
      'policy',
      'classified',
      'tenancy',
      'scopes',
      'redact_model',
      'egress',
      'decide',
      'rate_limit',
      'shadow',
      'redact_input',
      'record_decision',
      'confirm',
      'before_state',
      'forward',
      'redact_output',
      'record_result',
      'monitor',
    ]);
  });

  it('tier: a declared tier that disagrees is denied under the user, then alerted; the policy is not asked', async () => {
    const seen: DecisionInput[] = [];
    const { audit, pipeline } = setup({}, seen);
    const forward = vi.fn();
    const agent = { name: 'agent', tier: 'interactive' as const, declaredTier: 'background' as const, tierMismatch: true, delegationChain: ['user:dana'] };
    const run = await pipeline.run(call({ agent }), forward);
    expect(run.forwarded).toBe(false);
    expect(forward).not.toHaveBeenCalled();
    expect(seen).toEqual([]);
    expect(audit.rows.map((r) => [r.event, r.user.sub, r.policy.reasons[0]])).toEqual([
      ['deny', 'dana', 'tier_mismatch'],
      ['alert', 'dana', 'tier_mismatch'],
    ]);
    expect(audit.rows[1]).toMatchObject({
      alert: { type: 'tier_mismatch', severity: 'high' },
      detail: { declared_tier: 'background', derived_tier: 'interactive' },
    });
    expect(await pipeline.evaluate(call({ agent }))).toMatchObject({ decision: 'deny', reasons: ['tier_mismatch'] });
    expect(audit.rows).toHaveLength(2);
  });

  it("break_glass: a call under the session's open grant runs with emergency set, the use alerted before the intent row", async () => {
    const emergency = grantFor('S1');
    const seen: DecisionInput[] = [];
    const { audit, pipeline } = setup({ emergency }, seen);
    const run = await pipeline.run(call(), async () => 'chart');
    expect(run.forwarded).toBe(true);
    expect(seen[0]?.emergency).toBe(true);
    expect(audit.rows.map((r) => r.event)).toEqual(['alert', 'intent', 'result']);
    expect(audit.rows[0]).toMatchObject({ alert: { type: 'emergency_access' }, policy: { decision: 'allow' }, detail: { grant_id: 'g-1', phase: 'used' } });
    expect(audit.rows[1]).toMatchObject({ access: { emergency: true, grant_id: 'g-1' } });
    // another session of hers is not covered
    const other = await pipeline.authorize(call({ principal: { ...call().principal!, sessionId: 'S2' } }));
    expect(other.decision).toMatchObject({ decision: 'deny', reasons: ['phi_requires_clinician'] });
  });

  it('break_glass: a grant lookup that fails is no grant (never more access than without break-glass)', async () => {
    const { pipeline } = setup({ emergency: { activeGrant: async () => Promise.reject(new Error('store down')) } });
    expect((await pipeline.authorize(call())).decision).toMatchObject({ decision: 'deny', reasons: ['phi_requires_clinician'] });
  });

  it('evaluate: the same stages as a call (tenancy, break-glass, tier), writing nothing', async () => {
    const emergency = grantFor('S1');
    const { audit, pipeline } = setup({ emergency });
    const foreign = call({ tool: { server: 'ehr', name: 'list' }, arguments: { tenant: 'B' } });
    expect(await pipeline.evaluate(foreign)).toMatchObject({ decision: 'deny', reasons: ['tenant_mismatch'] });
    expect((await pipeline.authorize(foreign)).decision).toMatchObject({ decision: 'deny', reasons: ['tenant_mismatch'] });
    expect(await pipeline.evaluate(call(), { action: 'list_tool' })).toMatchObject({ decision: 'allow' });
    expect(emergency.activeGrant).toHaveBeenCalled();
    // only the authorize wrote: the grant's use (an attempt under break-glass is alerted too), and the denial
    expect(audit.rows.map((r) => r.event)).toEqual(['alert', 'deny']);
  });

  it("confirm: the asker's answer decides; an asker that throws is an unavailable channel and a deny row", async () => {
    const confirmAll: ActivePolicy = {
      ...bundle(),
      decide: () => ({ decision: 'confirm', reasons: ['destructive'], bundleHash: 'b'.repeat(64), determiningPolicies: ['c'] }),
    };
    const audit = createMemoryAudit();
    const pipeline = createPipeline({ policy: { current: () => confirmAll }, protector, audit, clock: { now: () => new Date(0) }, ids: { newId: () => 'id' } });
    const forward = vi.fn(async () => 'done');
    const yes = await pipeline.run(call(), forward, { confirmation: { channel: 'mcp_elicitation', ask: async () => 'accepted' } });
    expect(yes.forwarded).toBe(true);
    const broken = await pipeline.run(call({ requestId: 'req-2' }), forward, {
      confirmation: { channel: 'mcp_elicitation', ask: async () => Promise.reject(new Error('x')) },
    });
    expect(broken.authorization.decision).toMatchObject({ decision: 'deny', reasons: ['confirmation_unavailable', 'destructive'] });
    expect(forward).toHaveBeenCalledOnce();
    expect(audit.rows.map((r) => r.event)).toEqual(['confirm', 'intent', 'result', 'confirm', 'deny']);
  });

  it('forward: a call the agent cancelled is recorded as cancelled', async () => {
    const { audit, pipeline } = setup({ emergency: grantFor('S1') });
    const abort = new AbortController();
    const run = await pipeline.run(
      call(),
      async () => {
        abort.abort();
        throw new Error('aborted');
      },
      { signal: abort.signal },
    );
    expect(run.forwarded && run.failed).toBe(true);
    expect(audit.rows.at(-1)).toMatchObject({ event: 'result', output: { error: CANCELLED } });
  });

  it('monitor: sees every row once it is durable, and cannot break a call', async () => {
    const seen: string[] = [];
    const { pipeline } = setup({
      emergency: grantFor('S1'),
      monitor: (r) => {
        seen.push(r.event);
        throw new Error('monitor bug');
      },
    });
    const run = await pipeline.run(call(), async () => 'ok');
    expect(run.forwarded && !run.failed).toBe(true);
    expect(seen).toEqual(['alert', 'intent', 'result']);
  });
});

describe('rows through the one writer', () => {
  it('redacts the detail of every event (admin, alert, refusal, auth_failure)', async () => {
    const { audit, pipeline } = setup();
    await pipeline.recordAdmin({ action: 'policy_activated', principal: 'custos', detail: { bundle_dir: '/b/SECRET' } });
    await pipeline.recordAlert({ type: 'x', severity: 'low', principal: null, detail: { note: 'SECRET' } });
    await pipeline.recordRefusal({ reasons: ['delegation_target_invalid'], principal: null, detail: { client_id: 'SECRET' } });
    await pipeline.recordAuthFailure({ code: 'ERR_IDENTITY_TOKEN_MISSING', detail: { source: 'SECRET' } });
    expect(audit.rows.map((r) => r.event)).toEqual(['admin', 'alert', 'deny', 'auth_failure']);
    expect(JSON.stringify(audit.rows)).not.toContain('"SECRET');
    expect(audit.rows[0]).toMatchObject({
      user: { sub: 'custos:system', iss: 'custos' },
      policy: { reasons: ['policy_activated'], bundle_hash: 'b'.repeat(64) },
      detail: { action: 'policy_activated' },
    });
  });

  it('deny reasons are one typed list without duplicates', () => {
    expect(new Set(ALL_DENY_REASONS).size).toBe(ALL_DENY_REASONS.length);
    expect(ALL_DENY_REASONS).toContain(DENY_REASONS.TIER_MISMATCH);
    expect(ALL_DENY_REASONS).toContain('delegation_depth_exceeded');
  });
});
