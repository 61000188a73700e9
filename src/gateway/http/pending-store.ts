/**
 * Authorizations the decision API allowed and whose results are still to come: in memory,
 * bounded, with a TTL. Single-replica for now; a shared store is a later issue.
 */
import type { Authorization, Clock } from '../../kernel/index.js';

export interface PendingAuthorization {
  readonly authorization: Authorization;
  readonly owner: { readonly sub: string; readonly iss: string };
  readonly expiresAt: number;
}

export interface PendingStore {
  add(requestId: string, authorization: Authorization, owner: PendingAuthorization['owner']): PendingAuthorization;
  /** The live entry, or undefined when unknown or expired. */
  get(requestId: string): PendingAuthorization | undefined;
  delete(requestId: string): void;
  size(): number;
}

export function createPendingStore(options: { ttlMs: number; maxEntries: number; clock: Clock }): PendingStore {
  const entries = new Map<string, PendingAuthorization>();
  const now = (): number => options.clock.now().getTime();

  function sweep(): void {
    const t = now();
    for (const [id, entry] of entries) if (entry.expiresAt <= t) entries.delete(id);
    // Map iteration is insertion order: drop the oldest past the bound.
    for (const id of entries.keys()) {
      if (entries.size < options.maxEntries) break;
      entries.delete(id);
    }
  }

  return {
    add(requestId, authorization, owner) {
      sweep();
      const entry = { authorization, owner: { sub: owner.sub, iss: owner.iss }, expiresAt: now() + options.ttlMs };
      entries.set(requestId, entry);
      return entry;
    },
    get(requestId) {
      const entry = entries.get(requestId);
      if (entry && entry.expiresAt <= now()) {
        entries.delete(requestId);
        return undefined;
      }
      return entry;
    },
    delete: (requestId) => void entries.delete(requestId),
    size: () => entries.size,
  };
}
