/**
 * The `scopes` stage: the catalog's required scopes for a tool must lie in both the user's
 * scopes (from the user's own token) and the scopes the delegation token carries, so a
 * sub-agent can never do more than its user and its grant both allow. A scope a delegation
 * token names that its user lacks is never honoured (the intersection drops it). The three
 * sets also reach Cedar as context (`scopes`, `user_scopes`, `delegated_scopes`).
 */
import { DENY_REASONS } from './deny-reasons.js';
import type { CallScopes } from './ports.js';
import { decisive } from './stage.js';
import type { Principal } from './types.js';

/** The call's scopes: a delegated credential's user scope is its `userScope`; a token without scope has none. */
export function callScopes(principal: Principal): CallScopes {
  const delegatedCredential = principal.actors !== undefined && principal.actors.length > 0;
  const user = [...new Set(delegatedCredential ? (principal.userScope ?? []) : (principal.scope ?? []))].sort();
  const delegated = delegatedCredential && principal.scope !== undefined ? [...new Set(principal.scope)].sort() : user;
  const held = new Set(delegated);
  return { user, delegated, effective: user.filter((s) => held.has(s)) };
}

export const scopes = decisive('scopes', (d) => {
  if (!d.call.principal || !d.policy) return undefined;
  d.scopes = callScopes(d.call.principal);
  const required = d.policy.requiredScopes?.(d.call.tool) ?? [];
  const effective = new Set(d.scopes.effective);
  const missing = required.filter((s) => !effective.has(s));
  if (missing.length === 0) return undefined;
  d.detail = { ...d.detail, scopes_missing: missing };
  return [DENY_REASONS.SCOPE_MISSING];
});
