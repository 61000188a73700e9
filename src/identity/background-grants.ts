/**
 * Standing background grants: a user, with their interactive token, consents that a runner
 * (named by its client id) may act for them in the background, within a scope, until a date.
 * Grants live in this registry (in memory: a restart drops them, so runners must be granted
 * again — fail closed); the grant token only names one. Revoked or unknown grants refuse.
 */
export interface GrantRecord {
  readonly grantId: string;
  readonly sub: string;
  readonly iss: string;
  readonly clientId: string;
  readonly scope?: readonly string[];
  /** Seconds since epoch. */
  readonly expiresAt: number;
  revoked: boolean;
}

export interface GrantRegistry {
  add(record: GrantRecord): void;
  get(grantId: string): GrantRecord | undefined;
  /** Revokes a grant of this user; false when there is none. */
  revoke(grantId: string, owner: { readonly sub: string; readonly iss: string }): boolean;
}

export function createMemoryGrantRegistry(options: { clock?: () => number; maxGrants?: number } = {}): GrantRegistry {
  const clock = options.clock ?? Date.now;
  const max = options.maxGrants ?? 100_000;
  const grants = new Map<string, GrantRecord>();

  function dropExpired(): void {
    const nowSec = clock() / 1000;
    for (const [id, g] of grants) if (g.expiresAt <= nowSec) grants.delete(id);
  }

  return {
    add(record) {
      if (grants.size >= max) dropExpired();
      grants.set(record.grantId, record);
    },
    get(grantId) {
      const g = grants.get(grantId);
      return g && g.expiresAt > clock() / 1000 ? g : undefined;
    },
    revoke(grantId, owner) {
      const g = grants.get(grantId);
      if (!g || g.sub !== owner.sub || g.iss !== owner.iss) return false;
      g.revoked = true;
      return true;
    },
  };
}
