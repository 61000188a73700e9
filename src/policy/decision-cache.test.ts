import { describe, expect, it, vi } from 'vitest';
import type { Decision } from '../kernel/index.js';
import { createDecisionCache } from './decision-cache.js';

const allow: Decision = { decision: 'allow', reasons: ['r'], bundleHash: 'h', determiningPolicies: ['p'] };
const failed: Decision = { decision: 'deny', reasons: ['ERR_POLICY_EVALUATION_FAILED'], bundleHash: 'h', determiningPolicies: [] };

describe('decision cache', () => {
  it('evaluates each distinct request once and answers repeats from the cache', () => {
    const evaluate = vi.fn(() => allow);
    const decide = createDecisionCache(evaluate);
    expect(decide({ user: 'alice', tool: 't' })).toEqual(allow);
    expect(decide({ user: 'alice', tool: 't' })).toEqual(allow);
    expect(evaluate).toHaveBeenCalledTimes(1);
    decide({ user: 'alice', tool: 'u' });
    decide({ user: 'bob', tool: 't' });
    expect(evaluate).toHaveBeenCalledTimes(3);
  });

  it('never caches an evaluation failure', () => {
    const evaluate = vi.fn(() => failed);
    const decide = createDecisionCache(evaluate);
    decide({ a: 1 });
    decide({ a: 1 });
    expect(evaluate).toHaveBeenCalledTimes(2);
  });

  it('stays within its bound, dropping the least recently used entry', () => {
    const evaluate = vi.fn(() => allow);
    const decide = createDecisionCache(evaluate, 2);
    decide({ k: 1 });
    decide({ k: 2 });
    decide({ k: 1 }); // 1 is now the most recent
    decide({ k: 3 }); // evicts 2
    expect(evaluate).toHaveBeenCalledTimes(3);
    decide({ k: 1 });
    expect(evaluate).toHaveBeenCalledTimes(3);
    decide({ k: 2 });
    expect(evaluate).toHaveBeenCalledTimes(4);
  });
});
