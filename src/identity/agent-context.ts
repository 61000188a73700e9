/**
 * Tier derivation. The tier is derived from the credential, never taken from the agent:
 *   interactive — the user's own token (an IdP-issued access token for the Custos resource);
 *   subagent    — a Custos-minted delegation token (RFC 8693 token exchange)            [later issue];
 *   background  — a standing grant presented with a workload credential                 [later issue];
 *   api         — a client-credentials token obtained through token exchange           [later issue].
 * Each rule is a CredentialRule; the later tiers slot in as rules placed before the
 * interactive fallback, without changing deriveAgentContext.
 */
import { TIERS } from '../kernel/index.js';
import type { AgentContext, Principal, Tier } from '../kernel/index.js';
import type { DeclaredAgent } from './types.js';

/** One way of recognising a credential's tier; returns undefined when it does not apply. */
export interface CredentialRule {
  readonly name: string;
  deriveTier(principal: Principal): Tier | undefined;
}

/** Every verified user token that no more specific rule claims is the user's own: interactive. */
const userTokenRule: CredentialRule = {
  name: 'user-token',
  deriveTier: () => 'interactive',
};

/** Ordered: the first rule that answers decides. Delegation, standing-grant and client-credentials rules go first. */
export const CREDENTIAL_RULES: readonly CredentialRule[] = Object.freeze([userTokenRule]);

/** The agent name used when the agent does not name itself. */
export const UNNAMED_AGENT = 'unknown';

export function deriveTier(principal: Principal, rules: readonly CredentialRule[] = CREDENTIAL_RULES): Tier {
  for (const rule of rules) {
    const tier = rule.deriveTier(principal);
    if (tier !== undefined) return tier;
  }
  return 'interactive';
}

function isTier(value: string): value is Tier {
  return (TIERS as readonly string[]).includes(value);
}

function cleanName(value: string | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed.slice(0, 128);
}

/**
 * Builds the AgentContext for a verified principal. `tierMismatch` is true when the agent
 * declared a tier (valid or not) that differs from the derived one: the caller denies and alerts.
 */
export function deriveAgentContext(
  principal: Principal,
  declared: DeclaredAgent,
): { agent: AgentContext; tierMismatch: boolean } {
  const tier = deriveTier(principal);
  const name = cleanName(declared.name) ?? UNNAMED_AGENT;
  const declaredTier = typeof declared.tier === 'string' && isTier(declared.tier) ? declared.tier : undefined;
  const tierMismatch = declared.tier !== undefined && declared.tier !== tier;
  const runtime = cleanName(declared.runtime);
  const version = cleanName(declared.version);
  const agent: AgentContext = {
    name,
    ...(runtime === undefined ? {} : { runtime }),
    ...(version === undefined ? {} : { version }),
    tier,
    ...(declaredTier === undefined ? {} : { declaredTier }),
    delegationChain: Object.freeze([`user:${principal.sub}`, `agent:${name}`]),
  };
  return { agent: Object.freeze(agent), tierMismatch };
}
