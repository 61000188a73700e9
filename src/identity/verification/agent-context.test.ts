import { describe, expect, it } from 'vitest';
import type { Principal } from '../../kernel/index.js';
import { deriveAgentContext, deriveTier } from '../index.js';
import type { CredentialRule } from '../index.js';

const alice: Principal = Object.freeze({ sub: 'alice', iss: 'http://idp', roles: ['clinician'], groups: [] });

describe('deriveAgentContext', () => {
  it('makes a user token interactive with a user → agent delegation chain', () => {
    const { agent, tierMismatch } = deriveAgentContext(alice, { name: 'claude-desktop', runtime: 'mcp', version: '1.2.0' });
    expect(tierMismatch).toBe(false);
    expect(agent).toEqual({
      name: 'claude-desktop',
      runtime: 'mcp',
      version: '1.2.0',
      tier: 'interactive',
      delegationChain: ['user:alice', 'agent:claude-desktop'],
    });
  });

  it('accepts a declared tier that matches the derived one', () => {
    const { agent, tierMismatch } = deriveAgentContext(alice, { name: 'ide', tier: 'interactive' });
    expect(tierMismatch).toBe(false);
    expect(agent.declaredTier).toBe('interactive');
  });

  it('flags a declared tier the credential does not support', () => {
    for (const tier of ['subagent', 'background', 'api'] as const) {
      const { agent, tierMismatch } = deriveAgentContext(alice, { name: 'bot', tier });
      expect(tierMismatch).toBe(true);
      expect(agent.tier).toBe('interactive');
      expect(agent.declaredTier).toBe(tier);
    }
  });

  it('counts an invalid declared tier as a mismatch', () => {
    for (const tier of ['admin', 'Interactive', '', ' interactive']) {
      const { agent, tierMismatch } = deriveAgentContext(alice, { name: 'bot', tier });
      expect(tierMismatch).toBe(true);
      expect(agent.tier).toBe('interactive');
      expect(agent.declaredTier).toBeUndefined();
    }
  });

  it('names an unnamed agent "unknown" and trims names', () => {
    expect(deriveAgentContext(alice, {}).agent.delegationChain).toEqual(['user:alice', 'agent:unknown']);
    expect(deriveAgentContext(alice, { name: '  ' }).agent.name).toBe('unknown');
    expect(deriveAgentContext(alice, { name: ' cli ' }).agent.name).toBe('cli');
  });
});

describe('deriveTier', () => {
  it('lets a more specific credential rule decide before the interactive fallback', () => {
    const delegation: CredentialRule = {
      name: 'delegation-token',
      deriveTier: (p) => (p.clientId === 'custos-delegation' ? 'subagent' : undefined),
    };
    expect(deriveTier({ ...alice, clientId: 'custos-delegation' }, [delegation])).toBe('subagent');
    expect(deriveTier(alice, [delegation])).toBe('interactive');
    expect(deriveTier(alice)).toBe('interactive');
  });
});

describe('tiers of Custos-minted credentials', () => {
  it('derives subagent, background and api from the credential kind, the chain from the verified actors', () => {
    const cases = [
      ['delegation', 'subagent'],
      ['background', 'background'],
      ['client', 'api'],
    ] as const;
    for (const [credential, tier] of cases) {
      const { agent, tierMismatch } = deriveAgentContext({ ...alice, credential, actors: ['primary', 'sub'] }, { name: 'whatever-it-says', tier });
      expect(tierMismatch).toBe(false);
      expect(agent.tier).toBe(tier);
      expect(agent.delegationChain).toEqual(['user:alice', 'agent:primary', 'agent:sub']);
    }
  });

  it('flags a delegated credential that declares itself interactive', () => {
    const { agent, tierMismatch } = deriveAgentContext({ ...alice, credential: 'background', actors: ['runner'] }, { name: 'runner', tier: 'interactive' });
    expect(tierMismatch).toBe(true);
    expect(agent).toMatchObject({ tier: 'background', declaredTier: 'interactive' });
  });
});
