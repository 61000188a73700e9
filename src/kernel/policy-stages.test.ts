/** The stages issue 9 added: scopes, rate_limit (counted per human), shadow, and the confirmation re-decided under the bundle in force. */
import { describe, expect, it } from 'vitest';
import { createMemoryAudit } from '../audit/index.test-support.js';
import { createPipeline } from './pipeline.js';
import type { PipelineDeps } from './pipeline.js';
import type { ActivePolicy, DecisionInput, PolicySource, Protector, RateCounter, RateKey, RateLimitRule } from './ports.js';
import type { Decision, Principal, ToolCall } from './types.js';

const protector: Protector = { classify: () => [], redact: <T>(value: T) => ({ value, count: 0, types: [] }) };

function policy(hash: string, decide: (i: DecisionInput) => Decision['decision'], extra: Partial<ActivePolicy> = {}): ActivePolicy {
  return {
    bundleHash: hash,
    decide: (i) => ({ decision: decide(i), reasons: [decide(i) === 'deny' ? `denied_by_${hash}` : `ok_${hash}`], bundleHash: hash, determiningPolicies: [] }),
    classifyTool: () => ({ classes: ['read'] }),
    classificationRules: [],
    ...extra,
  };
}

/** An in-memory RateCounter with the store's semantics: all keys or none. */
function memoryCounter(): RateCounter & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return {
    counts,
    async take(keys: readonly RateKey[]) {
      const over = keys.find((k) => (counts.get(k.key) ?? 0) >= k.limit);
      if (over) return over;
      for (const k of keys) counts.set(k.key, (counts.get(k.key) ?? 0) + 1);
      return null;
    },
    async close() {},
  };
}

const ALICE: Principal = { sub: 'alice', iss: 'idp', roles: ['clinician'], groups: [], scope: ['email.read', 'email.send'] };

/** One of alice's sub-agents, holding a delegation token with `scope` (its user's scope travels as userScope). */
function subagent(n: number, scope?: string[]): Principal {
  return { ...ALICE, credential: 'delegation', actors: [`agent-${n}`], userScope: ALICE.scope, ...(scope ? { scope } : { scope: undefined }) };
}

function call(principal: Principal, name = 'send', requestId = `r-${Math.random()}`): ToolCall {
  return {
    requestId,
    kind: 'tool',
    tool: { server: 'mail', name },
    arguments: {},
    principal,
    agent: {
      name: 'a',
      tier: principal.actors ? 'subagent' : 'interactive',
      delegationChain: [`user:${principal.sub}`, ...(principal.actors ?? []).map((a) => `agent:${a}`)],
    },
  };
}

function setup(source: PolicySource, extra: Partial<PipelineDeps> = {}) {
  const audit = createMemoryAudit();
  const pipeline = createPipeline({
    policy: source,
    protector,
    audit,
    clock: { now: () => new Date(Date.UTC(2026, 0, 1, 12, 0, 30)) },
    ids: { newId: () => 'id' },
    ...extra,
  });
  return { audit, pipeline };
}

const scoped = policy('s1', () => 'allow', { requiredScopes: (t) => (t.name === 'send' ? ['email.send'] : t.name === 'read' ? ['email.read'] : []) });

describe('scopes stage', () => {
  it('denies a sub-agent whose delegation carries email.read a tool needing email.send, though its user holds it', async () => {
    const seen: DecisionInput[] = [];
    const { pipeline } = setup({ current: () => ({ ...scoped, decide: (i) => (seen.push(i), scoped.decide(i)) }) });
    const denied = await pipeline.authorize(call(subagent(1, ['email.read']), 'send'));
    expect(denied.decision).toMatchObject({ decision: 'deny', reasons: ['scope_missing'] });
    expect(denied.record).toMatchObject({ event: 'deny', user: { sub: 'alice' }, detail: { scopes_missing: ['email.send'] } });
    expect((await pipeline.authorize(call(subagent(1, ['email.read']), 'read'))).decision.decision).toBe('allow');
    expect((await pipeline.authorize(call(ALICE, 'send'))).decision.decision).toBe('allow');
    // Cedar sees the three sets.
    expect(seen.at(-1)?.scopes).toEqual({
      user: ['email.read', 'email.send'],
      delegated: ['email.read', 'email.send'],
      effective: ['email.read', 'email.send'],
    });
  });

  it('a delegation token claiming a scope its user lacks gains nothing', async () => {
    const { pipeline } = setup({ current: () => scoped });
    const bobScope: Principal = { ...subagent(2, ['email.send']), sub: 'bob', userScope: ['email.read'] };
    const r = await pipeline.authorize(call(bobScope, 'send'));
    expect(r.decision).toMatchObject({ decision: 'deny', reasons: ['scope_missing'] });
    expect(r.record.user.sub).toBe('bob');
    // And a delegated token with no user scope recorded holds no scope at all.
    const noUserScope: Principal = { ...subagent(3, ['email.read']), userScope: undefined };
    expect((await pipeline.authorize(call(noUserScope, 'read'))).decision.reasons).toEqual(['scope_missing']);
  });
});

describe('rate_limit stage', () => {
  const limit: RateLimitRule = { id: 'mail', per: ['user'], tools: ['mail/*'], perMinute: 3 };

  it("five sub-agents of one user calling in parallel share the user's limit; every denial is rate_limited under the human", async () => {
    const counter = memoryCounter();
    const { pipeline, audit } = setup({ current: () => policy('r1', () => 'allow', { rateLimits: [limit] }) }, { rateCounter: counter });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => pipeline.authorize(call(subagent(i % 5), 'read'))));
    expect(results.filter((r) => r.decision.decision === 'allow')).toHaveLength(3);
    const denied = results.filter((r) => r.decision.decision === 'deny');
    expect(denied).toHaveLength(7);
    for (const d of denied) {
      expect(d.decision.reasons).toEqual(['rate_limited']);
      expect(d.record).toMatchObject({ event: 'deny', user: { sub: 'alice' }, detail: { rate_limit: { id: 'mail', window: 'minute', limit: 3 } } });
    }
    expect([...counter.counts.values()]).toEqual([3]);
    expect(audit.rows.filter((r) => r.event === 'intent')).toHaveLength(3);
  });

  it('denied calls do not count, lists do not count, and counters that fail deny', async () => {
    const counter = memoryCounter();
    const source = { current: () => policy('r2', (i) => (i.tool.name === 'forbidden' ? 'deny' : 'allow'), { rateLimits: [limit] }) };
    const { pipeline } = setup(source, { rateCounter: counter });
    for (let i = 0; i < 5; i++) await pipeline.authorize(call(ALICE, 'forbidden'));
    for (let i = 0; i < 5; i++) await pipeline.evaluate(call(ALICE, 'read'));
    expect(counter.counts.size).toBe(0);
    const broken = setup(source, { rateCounter: { take: async () => Promise.reject(new Error('down')), close: async () => {} } });
    expect((await broken.pipeline.authorize(call(ALICE, 'read'))).decision.reasons).toEqual(['rate_limit_unavailable']);
    expect((await setup(source).pipeline.authorize(call(ALICE, 'read'))).decision.reasons).toEqual(['rate_limit_unavailable']);
  });
});

describe('shadow stage', () => {
  it('records a disagreement as an alert row and does not enforce the shadow', async () => {
    const enforced = policy('e1', () => 'allow');
    const shadow = policy('s2', (i) => (i.principal.sub === 'alice' ? 'deny' : 'allow'));
    const { pipeline, audit } = setup({ current: () => enforced, shadow: () => shadow });
    const r = await pipeline.authorize(call(ALICE, 'read'));
    expect(r.decision.decision).toBe('allow');
    expect(r.record.event).toBe('intent');
    const alerts = audit.rows.filter((x) => x.event === 'alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      alert: { type: 'policy_shadow_disagreement', severity: 'low' },
      user: { sub: 'alice' },
      detail: { enforced: { decision: 'allow', bundle_hash: 'e1' }, shadow: { decision: 'deny', bundle_hash: 's2', reasons: ['denied_by_s2'] } },
    });
    await pipeline.authorize(call({ ...ALICE, sub: 'bob' }, 'read'));
    expect(audit.rows.filter((x) => x.event === 'alert')).toHaveLength(1);
  });
});

describe('confirmation under the bundle in force when the human answers', () => {
  it('a bundle change while the human decides is applied to the decision', async () => {
    let current = policy('v1', () => 'confirm');
    const { pipeline } = setup({ current: () => current });
    const held = await pipeline.authorize(call(ALICE, 'write'), { confirmation: { channel: 'mcp_elicitation' } });
    expect(held.record.event).toBe('confirm');
    current = policy('v2', () => 'deny');
    const answered = await pipeline.confirm(held, 'accepted');
    expect(answered.decision).toMatchObject({ decision: 'deny', reasons: ['policy_changed', 'denied_by_v2'], bundleHash: 'v2' });
    expect(answered.record).toMatchObject({ event: 'deny', policy: { bundle_hash: 'v2' }, confirmation: { status: 'accepted' } });

    const again = await pipeline.authorize(call(ALICE, 'write'), { confirmation: { channel: 'mcp_elicitation' } });
    expect(again.decision.decision).toBe('deny');
    current = policy('v3', () => 'confirm');
    const held3 = await pipeline.authorize(call(ALICE, 'write'), { confirmation: { channel: 'mcp_elicitation' } });
    current = policy('v4', () => 'allow');
    const ok = await pipeline.confirm(held3, 'accepted');
    expect(ok.decision).toMatchObject({ decision: 'allow', bundleHash: 'v4' });
    expect(ok.record).toMatchObject({ event: 'intent', policy: { bundle_hash: 'v4' } });
  });

  it('flags every row decided by an emergency-change bundle', async () => {
    const emergency: ActivePolicy = { ...policy('em', () => 'allow'), decide: (i) => ({ ...policy('em', () => 'allow').decide(i), emergencyChange: true }) };
    const { pipeline } = setup({ current: () => emergency });
    const r = await pipeline.run(call(ALICE, 'read'), async () => 'ok');
    expect(r.authorization.record.policy).toMatchObject({ emergency_change: true });
    expect(r.forwarded && r.completion.record.policy).toMatchObject({ emergency_change: true });
  });
});
