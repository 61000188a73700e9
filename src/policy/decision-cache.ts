/**
 * A bounded LRU of decisions for one bundle. Cedar evaluation is a pure function of the
 * request it is given (the bundle is immutable), so the request itself — every entity
 * attribute and context field Cedar sees — is the key. Errors are never cached.
 */
import type { Decision } from '../kernel/index.js';

export const DEFAULT_DECISION_CACHE_SIZE = 10_000;

export function createDecisionCache<R>(evaluate: (request: R) => Decision, maxEntries = DEFAULT_DECISION_CACHE_SIZE): (request: R) => Decision {
  const cache = new Map<string, Decision>();
  return (request: R): Decision => {
    const key = JSON.stringify(request);
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key); // refresh recency
      cache.set(key, hit);
      return hit;
    }
    const decision = Object.freeze(evaluate(request));
    if (!decision.reasons.includes('ERR_POLICY_EVALUATION_FAILED')) {
      cache.set(key, decision);
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    }
    return decision;
  };
}
