/**
 * The `rate_limit` stage: the bundle's rate limits, counted through the shared store so every
 * replica sees one count. Counted against the human (`user.sub`, the same on every sub-agent's
 * delegation token), so a fan-out shares its user's limit. Only a call the policy lets through
 * counts (and only when it is recorded, not when a list is filtered); a call over a limit is
 * denied `rate_limited`; counters that cannot be reached deny `rate_limit_unavailable`.
 */
import { DENY_REASONS } from './deny-reasons.js';
import type { RateKey, RateLimitRule } from './ports.js';
import { decisive } from './stage.js';
import type { Draft } from './stage.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

function globMatches(glob: string, value: string): boolean {
  const re = new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return re.test(value);
}

function applies(rule: RateLimitRule, d: Draft): boolean {
  const tool = `${d.call.tool.server}/${d.call.tool.name}`;
  if (rule.tools && !rule.tools.some((g) => globMatches(g, tool))) return false;
  if (rule.classes && !rule.classes.some((c) => d.inspection.toolClasses.includes(c))) return false;
  if (rule.tiers && !rule.tiers.includes(d.call.agent.tier)) return false;
  return true;
}

/** The counters a call takes a unit of, one per rule and window: `rl:<rule>:<subject>:<window>:<start>`. */
export function rateKeys(rules: readonly RateLimitRule[], d: Draft, now: number): RateKey[] {
  const keys: RateKey[] = [];
  for (const rule of rules) {
    if (!applies(rule, d)) continue;
    const subject = rule.per
      .map((p) =>
        p === 'user'
          ? `user=${d.call.principal?.sub}`
          : p === 'tenant'
            ? `tenant=${d.call.principal?.tenant ?? ''}`
            : `tool=${d.call.tool.server}/${d.call.tool.name}`,
      )
      .join(',');
    for (const [window, size, limit] of [
      ['minute', MINUTE_MS, rule.perMinute],
      ['day', DAY_MS, rule.perDay],
    ] as const) {
      if (limit === undefined) continue;
      const start = Math.floor(now / size) * size;
      keys.push({ key: `rl:${rule.id}:${subject}:${window}:${start}`, expiresAt: start + size, limit });
    }
  }
  return keys;
}

export const rateLimit = decisive('rate_limit', async (d, env) => {
  const rules = d.policy?.rateLimits ?? [];
  if (!d.recording || rules.length === 0 || !d.decision || d.decision.decision === 'deny') return undefined;
  const keys = rateKeys(rules, d, env.now().getTime());
  if (keys.length === 0) return undefined;
  if (!env.rateCounter) return [DENY_REASONS.RATE_LIMIT_UNAVAILABLE];
  let over: RateKey | null;
  try {
    over = await env.rateCounter.take(keys);
  } catch {
    return [DENY_REASONS.RATE_LIMIT_UNAVAILABLE];
  }
  if (!over) return undefined;
  const [, rule, , window] = over.key.split(':');
  d.detail = { ...d.detail, rate_limit: { id: rule, window, limit: over.limit } };
  return [DENY_REASONS.RATE_LIMITED];
});
