import { describe, expect, it } from 'vitest';
import type { DecisionInput, Principal } from '../kernel/index.js';
import { createPolicySource, loadBundle } from './index.js';
import { delegationDepth } from './evaluate.js';
import { QUICKSTART_BUNDLE, makeInput, writeBundle } from './bundles.test-support.js';

// Validates (the validator does not see integer overflow) but fails at evaluation when delegation_depth >= 1.
const OVERFLOW = 'context.delegation_depth + 9223372036854775807 < 0';

describe('decide', () => {
  it('fails closed when a forbid errors, where Cedar alone would allow', async () => {
    const loaded = await loadBundle(
      await writeBundle({
        'policies/p.cedar':
          '@id("allow-all")\npermit (principal, action, resource);\n' +
          `@id("overflowing-forbid")\nforbid (principal, action, resource) when { ${OVERFLOW} };\n`,
      }),
    );
    const d = loaded.policy.decide(makeInput({ server: 'demo', tool: 'read' }));
    expect(d).toEqual({
      decision: 'deny',
      reasons: ['ERR_POLICY_EVALUATION_FAILED'],
      bundleHash: loaded.bundleHash,
      determiningPolicies: ['overflowing-forbid'],
    });
    // With no delegation hop the same bundle evaluates cleanly and allows.
    const direct = loaded.policy.decide(makeInput({ server: 'demo', tool: 'read', chain: ['user:alice'] }));
    expect(direct.decision).toBe('allow');
  });

  it('fails closed on an exception instead of throwing', async () => {
    const { policy } = await loadBundle(QUICKSTART_BUNDLE);
    const broken = { ...makeInput(), principal: null as unknown as Principal };
    expect(() => policy.decide(broken)).not.toThrow();
    expect(policy.decide(broken)).toMatchObject({ decision: 'deny', reasons: ['ERR_POLICY_EVALUATION_FAILED'] });
  });

  it('gives confirm only when every determining permit asks for it', async () => {
    const loaded = await loadBundle(
      await writeBundle({
        'policies/p.cedar':
          '@id("confirm-read")\n@confirm("true")\n@reason("needs_a_human")\npermit (principal, action, resource) when { resource.classes.contains("read") };\n' +
          '@id("plain-admin")\npermit (principal, action, resource) when { principal.roles.contains("admin") };\n' +
          '@id("no-confirm")\n@confirm("false")\npermit (principal, action, resource) when { resource.classes.contains("ops") };\n',
      }),
    );
    const read = makeInput({ server: 'demo', tool: 'read', roles: ['clinician'] });
    expect(loaded.policy.decide(read)).toMatchObject({ decision: 'confirm', reasons: ['needs_a_human'] });
    const admin = makeInput({ server: 'demo', tool: 'read', roles: ['admin'] });
    expect(loaded.policy.decide(admin)).toMatchObject({
      decision: 'allow',
      reasons: ['needs_a_human', 'plain-admin'],
      determiningPolicies: ['confirm-read', 'plain-admin'],
    });
    const ops = makeInput({ server: 'demo', tool: 'x', toolClasses: ['ops'] });
    expect(loaded.policy.decide(ops).decision).toBe('allow');
  });

  it('puts the request context where policies can match it', async () => {
    const loaded = await loadBundle(
      await writeBundle({
        'policies/p.cedar':
          '@id("ctx")\npermit (principal == Custos::User::"alice", action == Custos::Action::"get_prompt", resource == Custos::Tool::"demo/p")\n' +
          'when { context.tier == "subagent" && context.agent == "test-agent" && context.delegation_depth == 2 &&\n' +
          '  context.emergency && context.data_classes.contains("pii") && principal.iss == "http://127.0.0.1:8786" &&\n' +
          '  principal.tenant == "" && resource.server == "demo" && resource.name == "p" };\n',
      }),
    );
    const base: DecisionInput = {
      ...makeInput({ action: 'get_prompt', server: 'demo', tool: 'p', tier: 'subagent', dataClasses: ['pii'] }),
      agent: { name: 'test-agent', tier: 'subagent', delegationChain: ['user:alice', 'agent:a', 'agent:test-agent'] },
      emergency: true,
    };
    expect(loaded.policy.decide(base).decision).toBe('allow');
    expect(loaded.policy.decide({ ...base, emergency: false }).decision).toBe('deny');
    expect(loaded.policy.decide({ ...base, action: 'call_tool' }).decision).toBe('deny');
  });

  it('counts delegation hops after the user', () => {
    expect(delegationDepth(['user:alice'])).toBe(0);
    expect(delegationDepth(['user:alice', 'agent:a'])).toBe(1);
    expect(delegationDepth(['user:alice', 'agent:a', 'agent:b'])).toBe(2);
  });

  it('keeps bundles apart and swaps the active one', async () => {
    const allow = await loadBundle(await writeBundle({ 'policies/p.cedar': '@id("yes")\npermit (principal, action, resource);\n' }));
    const deny = await loadBundle(await writeBundle({ 'policies/p.cedar': '@id("no")\nforbid (principal, action, resource);\n' }));
    const source = createPolicySource(allow.policy);
    const input = makeInput({ server: 'demo', tool: 'read' });
    expect(source.current().decide(input)).toMatchObject({ decision: 'allow', bundleHash: allow.bundleHash });
    source.swap(deny.policy);
    expect(source.current().decide(input)).toMatchObject({ decision: 'deny', bundleHash: deny.bundleHash, reasons: ['no'] });
    // The older bundle still evaluates with its own policies.
    expect(allow.policy.decide(input).decision).toBe('allow');
  });
});
