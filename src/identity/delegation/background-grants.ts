/**
 * Standing background grants: a user, with their interactive token, consents that a runner
 * (named by its client id) may act for them in the background, within a scope, until a date.
 * Grants live in a registry — the session store in production (`createStoreGrantRegistry`,
 * so they survive a restart and every replica sees them), or memory in tests; the grant
 * token only names one. Revoked, expired or unknown grants refuse.
 */
import type { BackgroundGrantRow, SessionStore } from '../sessions/index.js';

/** A grant as the registry keeps it: the session store's row. */
export type GrantRecord = BackgroundGrantRow;

export interface GrantRegistry {
  add(record: GrantRecord): Promise<void>;
  /** The grant while unexpired (revoked ones included, so the refusal can say so). */
  get(grantId: string): Promise<GrantRecord | undefined>;
  /** Revokes a grant of this user; false when there is none. */
  revoke(grantId: string, owner: { readonly sub: string; readonly iss: string }): Promise<boolean>;
}

/** Grants in the session store (SQLite or PostgreSQL): they survive a restart, revoked ones stay revoked. */
export function createStoreGrantRegistry(store: SessionStore, options: { clock?: () => number } = {}): GrantRegistry {
  const nowSec = (): number => (options.clock ?? Date.now)() / 1000;
  return {
    add: (record) => store.putBackgroundGrant(record, Math.floor(nowSec())),
    async get(grantId) {
      const g = await store.getBackgroundGrant(grantId);
      return g && g.expiresAt > nowSec() ? g : undefined;
    },
    revoke: (grantId, owner) => store.revokeBackgroundGrant(grantId, owner),
  };
}

export function createMemoryGrantRegistry(options: { clock?: () => number; maxGrants?: number } = {}): GrantRegistry {
  const clock = options.clock ?? Date.now;
  const max = options.maxGrants ?? 100_000;
  const grants = new Map<string, GrantRecord & { revoked: boolean }>();

  function dropExpired(): void {
    const nowSec = clock() / 1000;
    for (const [id, g] of grants) if (g.expiresAt <= nowSec) grants.delete(id);
  }

  return {
    async add(record) {
      if (grants.size >= max) dropExpired();
      grants.set(record.grantId, { ...record });
    },
    async get(grantId) {
      const g = grants.get(grantId);
      return g && g.expiresAt > clock() / 1000 ? g : undefined;
    },
    async revoke(grantId, owner) {
      const g = grants.get(grantId);
      if (!g || g.sub !== owner.sub || g.iss !== owner.iss) return false;
      g.revoked = true;
      return true;
    },
  };
}
