/**
 * Tier derivation. The tier is derived from the credential, never taken from the agent:
 *   interactive — the user's own token from a client registered as interactive
 *                 (`interactiveClients` of the issuer; absent: any user token);
 *   subagent    — a delegation token Custos minted (RFC 8693 token exchange, custos_cred "delegation");
 *   background  — a token Custos minted from a standing background grant the user consented to,
 *                 exchanged with the runner's own workload credential (custos_cred "background");
 *   api         — a token Custos minted for a client-credentials caller listed in
 *                 `identity.delegation.apiClients`, acting for a user (custos_cred "client").
 * `Principal.credential` is only ever set from a Custos-signed claim. Each tier is a
 * CredentialRule; the first rule that answers decides, the user token is the fallback.
 */
import { TIERS } from '../../kernel/index.js';
import type { AgentContext, Principal, Tier } from '../../kernel/index.js';
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

const TIER_BY_CREDENTIAL: Readonly<Record<string, Tier>> = { delegation: 'subagent', background: 'background', client: 'api' };

/** Custos-minted credentials carry their kind in a claim only Custos signs. */
const mintedTokenRule: CredentialRule = {
  name: 'custos-minted-token',
  deriveTier: (principal) => (principal.credential === undefined ? undefined : TIER_BY_CREDENTIAL[principal.credential]),
};

/** Ordered: the first rule that answers decides; the user's own token is the fallback. */
export const CREDENTIAL_RULES: readonly CredentialRule[] = Object.freeze([mintedTokenRule, userTokenRule]);

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

/** user → agents: the verified actors of a delegated credential, else the agent's own name. */
function buildChain(principal: Principal, name: string): string[] {
  const actors = principal.actors !== undefined && principal.actors.length > 0 ? principal.actors : [name];
  return [`user:${principal.sub}`, ...actors.map((actor) => `agent:${actor}`)];
}

/**
 * Builds the AgentContext for a verified principal. `tierMismatch` is true when the agent
 * declared a tier (valid or not) that differs from the derived one: the caller denies and alerts.
 */
export function deriveAgentContext(principal: Principal, declared: DeclaredAgent): { agent: AgentContext; tierMismatch: boolean } {
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
    ...(declared.userAgent ? { userAgent: declared.userAgent.slice(0, 256) } : {}),
    ...(declared.sdk ? { sdk: declared.sdk.slice(0, 256) } : {}),
    tier,
    ...(declaredTier === undefined ? {} : { declaredTier }),
    delegationChain: Object.freeze(buildChain(principal, name)),
  };
  return { agent: Object.freeze(agent), tierMismatch };
}
