import { describe, expect, it, vi } from 'vitest';
import { createMemoryAudit } from '../audit/index.test-support.js';
import { DENY_REASONS } from './deny-reasons.js';
import { CustosError } from './errors.js';
import { createPipeline } from './pipeline.js';
import type { ActivePolicy, DecisionInput, Protector } from './ports.js';
import { isReadOnlyCall } from './read-only.js';
import type { ToolCall } from './types.js';

const protector: Protector = {
  classify: (call) => (JSON.stringify(call.arguments).includes('phi/') ? ['phi'] : []),
  redact: <T>(value: T) => {
    const text = JSON.stringify(value ?? null);
    const count = (text.match(/SECRET/g) ?? []).length;
    return { value: JSON.parse(text.replaceAll('SECRET', '[redacted:secret]')) as T, count, types: count ? ['secret'] : [] };
  },
};

function policy(
  decide: (input: DecisionInput) => ActivePolicy['decide'] extends (i: DecisionInput) => infer R ? R : never,
  classes: readonly string[] = ['read'],
): ActivePolicy {
  return { bundleHash: 'b'.repeat(64), decide, classifyTool: () => ({ classes }), classificationRules: [] };
}

const allow = () => ({ decision: 'allow' as const, reasons: ['ok'], bundleHash: 'b'.repeat(64), determiningPolicies: ['p1'] });
const allowAll = policy(allow);
/** The same, for a tool with side effects: forwarded only once its intent row is durable. */
const allowWrites = policy(allow, ['writes']);

function call(overrides: Partial<ToolCall> = {}): ToolCall {
  return {
    requestId: 'req-1',
    kind: 'tool',
    tool: { server: 'fs', name: 'read' },
    arguments: { path: '/w/notes.txt', token: 'SECRET' },
    principal: { sub: 'alice', iss: 'https://idp', roles: ['clinician'], groups: [] },
    agent: { name: 'agent', tier: 'interactive', delegationChain: ['user:alice', 'agent:agent'] },
    ...overrides,
  };
}

function setup(active: ActivePolicy = allowAll) {
  const audit = createMemoryAudit();
  const pipeline = createPipeline({ policy: { current: () => active }, protector, audit, clock: { now: () => new Date(0) }, ids: { newId: () => 'id' } });
  return { audit, pipeline };
}

describe('pipeline', () => {
  it('records a durable intent before forwarding a call with side effects, then a redacted result with the same request_id', async () => {
    const { audit, pipeline } = setup(allowWrites);
    const forward = vi.fn(async () => {
      expect(audit.rows.map((r) => r.event)).toEqual(['intent']);
      return { text: 'the SECRET is out' };
    });
    const run = await pipeline.run(call(), forward);
    expect(forward).toHaveBeenCalledOnce();
    expect(run.forwarded && run.completion.output.value).toEqual({ text: 'the [redacted:secret] is out' });
    const [intent, result] = audit.rows;
    expect(intent).toMatchObject({ event: 'intent', request_id: 'req-1', user: { sub: 'alice' }, input: { redacted: { token: '[redacted:secret]' } } });
    expect(result).toMatchObject({ event: 'result', request_id: 'req-1', redactions: { count: 1, types: ['secret'] } });
    expect(JSON.stringify(audit.rows)).not.toContain('"SECRET"');
    expect(result?.agent?.delegation_chain).toEqual(['user:alice', 'agent:agent', 'tool:fs/read']);
  });

  it('denies a call without a principal, never forwarding, with an anonymous row', async () => {
    const { audit, pipeline } = setup();
    const forward = vi.fn();
    const run = await pipeline.run(call({ principal: null }), forward);
    expect(forward).not.toHaveBeenCalled();
    expect(run.authorization.decision.reasons).toEqual(['ERR_IDENTITY_TOKEN_MISSING']);
    expect(audit.rows[0]).toMatchObject({ event: 'deny', user: { sub: null, anonymous: true } });
  });

  it('denies when the policy cannot be evaluated or loaded', async () => {
    const throwing = policy(() => {
      throw new Error('boom');
    });
    const forward = vi.fn();
    const a = setup(throwing);
    expect((await a.pipeline.run(call(), forward)).authorization.decision).toMatchObject({ decision: 'deny', reasons: ['ERR_POLICY_EVALUATION_FAILED'] });
    const b = createPipeline({
      policy: {
        current: () => {
          throw new Error('no bundle');
        },
      },
      protector,
      audit: createMemoryAudit(),
      clock: { now: () => new Date(0) },
      ids: { newId: () => 'id' },
    });
    expect((await b.run(call(), forward)).authorization.decision).toMatchObject({
      decision: 'deny',
      reasons: ['ERR_POLICY_BUNDLE_INVALID'],
      bundleHash: 'none',
    });
    expect(forward).not.toHaveBeenCalled();
  });

  it('passes data classes and the action to the policy, and honours its denial', async () => {
    const seen: DecisionInput[] = [];
    const active = policy((input) => {
      seen.push(input);
      return input.dataClasses.includes('phi')
        ? { decision: 'deny', reasons: ['phi_requires_clinician'], bundleHash: 'b'.repeat(64), determiningPolicies: ['phi'] }
        : { decision: 'allow', reasons: [], bundleHash: 'b'.repeat(64), determiningPolicies: ['p'] };
    });
    const { audit, pipeline } = setup(active);
    const forward = vi.fn();
    await pipeline.run(call({ arguments: { path: '/w/phi/x.md' } }), forward);
    expect(forward).not.toHaveBeenCalled();
    expect(seen[0]).toMatchObject({ action: 'call_tool', dataClasses: ['phi'], toolClasses: ['read'] });
    expect(audit.rows[0]).toMatchObject({
      event: 'deny',
      data_classes: ['phi'],
      policy: { reasons: ['phi_requires_clinician'], determining_policies: ['phi'] },
    });
  });

  it('never forwards a call with side effects when the intent row cannot be written, and reports ERR_AUDIT_UNAVAILABLE', async () => {
    const { audit, pipeline } = setup(allowWrites);
    audit.failing = true;
    const forward = vi.fn();
    await expect(pipeline.run(call(), forward)).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
    expect(forward).not.toHaveBeenCalled();
  });

  it('forwards a read-only call while its intent row is being written, and returns nothing before that row is durable', async () => {
    const { audit, pipeline } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    audit.beforeAppend = async (entry) => (entry.event === 'intent' ? gate : undefined);
    const forward = vi.fn(async () => ({ text: 'the SECRET is out' }));
    let settled = false;
    const running = pipeline.run(call(), forward, { quiet: true }).finally(() => (settled = true));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(forward).toHaveBeenCalledOnce(); // the upstream ran while the intent row was not yet durable
    expect(settled).toBe(false); // …and its output waits for that row
    expect(audit.rows).toEqual([]);
    release();
    const run = await running;
    expect(run.forwarded && run.completion.output.value).toEqual({ text: 'the [redacted:secret] is out' });
    expect(audit.rows.map((r) => r.event)).toEqual(['intent', 'result']);
  });

  it('drops the output of a read-only call whose intent row cannot be written, and denies it (reason ERR_AUDIT_UNAVAILABLE)', async () => {
    const { audit, pipeline } = setup();
    audit.beforeAppend = async (entry) => {
      if (entry.event === 'intent') throw new CustosError('ERR_AUDIT_UNAVAILABLE', undefined, { detail: { reason: 'disk_full' } });
    };
    const forward = vi.fn(async () => ({ text: 'UPSTREAM OUTPUT' }));
    const run = await pipeline.run(call(), forward, { quiet: true });
    expect(forward).toHaveBeenCalledOnce();
    expect(run.forwarded).toBe(false);
    expect(run.authorization.decision).toMatchObject({ decision: 'deny', reasons: [DENY_REASONS.AUDIT_UNAVAILABLE] });
    expect(JSON.stringify(run)).not.toContain('UPSTREAM OUTPUT');
    expect(audit.rows.map((r) => [r.event, r.policy.reasons])).toEqual([['deny', [DENY_REASONS.AUDIT_UNAVAILABLE]]]);
    // Neither row writable: the call fails with ERR_AUDIT_UNAVAILABLE, and the output is nowhere in the error.
    audit.failing = true;
    const err = await pipeline.run(call(), forward, { quiet: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
    expect(JSON.stringify(err)).not.toContain('UPSTREAM OUTPUT');
  });

  it('overlaps only an allowed, quiet tool call whose every class is read', async () => {
    expect(isReadOnlyCall('tool', ['read'])).toBe(true);
    expect(isReadOnlyCall('tool', ['read', 'egress'])).toBe(false);
    expect(isReadOnlyCall('tool', ['writes'])).toBe(false);
    expect(isReadOnlyCall('tool', [])).toBe(false);
    expect(isReadOnlyCall('resource', ['read'])).toBe(false);
    // A read-only call whose forward may reach the agent mid-call (progress, relayed requests) waits for its row.
    const audit = createMemoryAudit();
    const loud = createPipeline({ policy: { current: () => allowAll }, protector, audit, clock: { now: () => new Date(0) }, ids: { newId: () => 'id' } });
    const seen: string[][] = [];
    await loud.run(call(), async () => seen.push(audit.rows.map((r) => r.event)));
    expect(seen).toEqual([['intent']]);
    // A read-only call the policy holds for confirmation is not forwarded before the human answers.
    const confirm = policy(() => ({ decision: 'confirm', reasons: ['ask'], bundleHash: 'b'.repeat(64), determiningPolicies: [] }));
    const { pipeline } = setup(confirm);
    const forward = vi.fn();
    const run = await pipeline.run(call(), forward, { quiet: true, confirmation: { channel: 'test', ask: async () => 'declined' } });
    expect(run.forwarded).toBe(false);
    expect(forward).not.toHaveBeenCalled();
  });

  it('withholds the output when the result row cannot be written', async () => {
    const { audit, pipeline } = setup();
    const forward = vi.fn(async () => {
      audit.failing = true;
      return 'output';
    });
    await expect(pipeline.run(call(), forward)).rejects.toBeInstanceOf(CustosError);
  });

  it('asks the store for a durable intent row and a result row written before the answer (synced after it)', async () => {
    const { audit, pipeline } = setup(allowWrites);
    const asked: Array<[string, unknown]> = [];
    const append = audit.append.bind(audit);
    audit.append = async (entry, options) => {
      asked.push([entry.event, options?.durability ?? 'durable']);
      return append(entry, options);
    };
    await pipeline.run(call(), async () => 'output');
    expect(asked).toEqual([
      ['intent', 'durable'],
      ['result', 'written'],
    ]);
  });

  it('records an upstream failure as a result row with the error code', async () => {
    const { audit, pipeline } = setup();
    const run = await pipeline.run(call(), async () => {
      throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    });
    expect(run.forwarded && run.failed).toBe(true);
    expect(audit.rows[1]).toMatchObject({ event: 'result', output: { error: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' } });
  });

  it('records a front-door denial under the user, without asking the policy', async () => {
    const decide = vi.fn();
    const { audit, pipeline } = setup(policy(decide));
    const auth = await pipeline.authorize(call(), { deny: ['tier_mismatch'] });
    expect(decide).not.toHaveBeenCalled();
    expect(auth.decision).toMatchObject({ decision: 'deny', reasons: ['tier_mismatch'] });
    expect(audit.rows[0]).toMatchObject({ event: 'deny', user: { sub: 'alice' }, policy: { reasons: ['tier_mismatch'] } });
  });

  it("denies a call naming another tenant's resources before the policy is asked", async () => {
    const decide = vi.fn(() => ({ decision: 'allow' as const, reasons: [], bundleHash: 'b'.repeat(64), determiningPolicies: ['p'] }));
    const active = { ...policy(decide), tenancyRules: { arguments: ['tenant'], paths: [] } };
    const tenantAware: Protector = { ...protector, extractTenants: (c) => [String((c.arguments as { tenant?: string }).tenant ?? '')].filter(Boolean) };
    const audit = createMemoryAudit();
    const pipeline = createPipeline({
      policy: { current: () => active },
      protector: tenantAware,
      audit,
      clock: { now: () => new Date(0) },
      ids: { newId: () => 'id' },
    });
    const principal = { sub: 'alice', iss: 'i', tenant: 'A', roles: [], groups: [] };
    const other = await pipeline.authorize(call({ principal, arguments: { tenant: 'B' } }));
    expect(other.decision).toMatchObject({ decision: 'deny', reasons: ['tenant_mismatch'] });
    expect(decide).not.toHaveBeenCalled();
    expect(audit.rows[0]).toMatchObject({ event: 'deny', user: { sub: 'alice', tenant: 'A' }, policy: { reasons: ['tenant_mismatch'] } });
    const own = await pipeline.authorize(call({ principal, arguments: { tenant: 'A' } }));
    expect(own.decision.decision).toBe('allow');
    expect(decide).toHaveBeenCalledWith(expect.objectContaining({ resourceTenants: ['A'] }));
  });

  it('marks emergency calls in the decision input and on the row, and writes alert rows', async () => {
    const seen: DecisionInput[] = [];
    const { audit, pipeline } = setup(
      policy((input) => (seen.push(input), { decision: 'allow', reasons: [], bundleHash: 'b'.repeat(64), determiningPolicies: ['e'] })),
    );
    await pipeline.authorize(call({ emergency: { grantId: 'g-1' } }));
    expect(seen[0]?.emergency).toBe(true);
    expect(audit.rows[0]?.access).toEqual({ emergency: true, grant_id: 'g-1' });
    const alert = await pipeline.recordAlert({ type: 'emergency_access', severity: 'high', decision: 'allow', call: call() });
    expect(alert).toMatchObject({
      event: 'alert',
      user: { sub: 'alice' },
      alert: { type: 'emergency_access', severity: 'high' },
      policy: { decision: 'allow' },
    });
    audit.failing = true;
    await expect(pipeline.recordAlert({ type: 'x', severity: 'low' })).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
  });

  it('classifies before redacting the input, so a secret file path is redacted as one', async () => {
    const seen: unknown[] = [];
    const p: Protector = { classify: () => ['secret_file'], redact: (v, o) => (seen.push(o?.dataClasses), { value: v, count: 0, types: [] }) };
    const pipeline = createPipeline({
      policy: { current: () => allowAll },
      protector: p,
      audit: createMemoryAudit(),
      clock: { now: () => new Date(0) },
      ids: { newId: () => 'id' },
    });
    await pipeline.authorize(call());
    expect(seen[0]).toEqual(['secret_file']);
  });
});

describe('pipeline confirmation (two steps)', () => {
  const confirmPolicy = policy(() => ({
    decision: 'confirm',
    reasons: ['destructive_requires_confirmation'],
    bundleHash: 'b'.repeat(64),
    determiningPolicies: ['p-confirm'],
  }));

  it('without a confirmation channel, a confirm decision is a deny row that cannot be confirmed', async () => {
    const { audit, pipeline } = setup(confirmPolicy);
    const auth = await pipeline.authorize(call());
    expect(auth.record).toMatchObject({ event: 'deny', policy: { decision: 'confirm' } });
    expect(auth.record.confirmation).toBeUndefined();
    await expect(pipeline.confirm(auth, 'accepted')).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
    expect(audit.rows).toHaveLength(1);
  });

  it('holds the call on a confirm row, then writes the intent row once the human accepts, then the result', async () => {
    const { audit, pipeline } = setup(confirmPolicy);
    const held = await pipeline.authorize(call(), { confirmation: { channel: 'mcp_elicitation' } });
    expect(held.decision.decision).toBe('confirm');
    expect(held.record).toMatchObject({
      event: 'confirm',
      request_id: 'req-1',
      user: { sub: 'alice' },
      policy: { decision: 'confirm', reasons: ['destructive_requires_confirmation'], determining_policies: ['p-confirm'] },
      confirmation: { status: 'requested', channel: 'mcp_elicitation' },
      input: { redacted: { token: '[redacted:secret]' } },
    });
    const accepted = await pipeline.confirm(held, 'accepted');
    expect(accepted.decision.decision).toBe('allow');
    expect(accepted.record).toMatchObject({
      event: 'intent',
      request_id: 'req-1',
      user: { sub: 'alice' },
      policy: { decision: 'allow', reasons: ['destructive_requires_confirmation', 'confirmation_accepted'], determining_policies: ['p-confirm'] },
      confirmation: { status: 'accepted', channel: 'mcp_elicitation' },
    });
    await pipeline.complete(accepted, { output: 'moved' });
    expect(audit.rows.map((r) => [r.event, r.request_id])).toEqual([
      ['confirm', 'req-1'],
      ['intent', 'req-1'],
      ['result', 'req-1'],
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain('"SECRET"');
  });

  it.each([
    ['declined', 'confirmation_declined'],
    ['timeout', 'confirmation_timeout'],
    ['unavailable', 'confirmation_unavailable'],
  ] as const)('denies a held call the human did not accept (%s) with reason %s under the user', async (outcome, reason) => {
    const { audit, pipeline } = setup(confirmPolicy);
    const held = await pipeline.authorize(call(), { confirmation: { channel: 'mcp_elicitation' } });
    const denied = await pipeline.confirm(held, outcome);
    expect(denied.decision.decision).toBe('deny');
    expect(denied.decision.reasons[0]).toBe(reason);
    expect(audit.rows.map((r) => r.event)).toEqual(['confirm', 'deny']);
    expect(audit.rows[1]).toMatchObject({ request_id: 'req-1', user: { sub: 'alice' }, policy: { decision: 'deny' }, confirmation: { status: outcome } });
    await expect(pipeline.confirm(denied, 'accepted')).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('never returns allow when the intent row after acceptance cannot be written', async () => {
    const { audit, pipeline } = setup(confirmPolicy);
    const held = await pipeline.authorize(call(), { confirmation: { channel: 'mcp_elicitation' } });
    audit.failing = true;
    await expect(pipeline.confirm(held, 'accepted')).rejects.toMatchObject({ code: 'ERR_AUDIT_UNAVAILABLE' });
  });

  it('an allow or deny decision is unaffected by the confirmation option', async () => {
    const { audit, pipeline } = setup();
    const auth = await pipeline.authorize(call(), { confirmation: { channel: 'mcp_elicitation' } });
    expect(auth.record.event).toBe('intent');
    expect(auth.record.confirmation).toBeUndefined();
    expect(audit.rows).toHaveLength(1);
  });
});
