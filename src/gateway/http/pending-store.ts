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
  /** Every live entry (expired ones dropped first, with their eviction), oldest first. */
  entries(): Array<[string, PendingAuthorization]>;
  /** Called for every entry dropped because it expired or the store was full (not for delete()). */
  onEvict(listener: EvictionListener): void;
}

export type EvictionListener = (requestId: string, entry: PendingAuthorization, cause: 'expired' | 'bound') => void;

export function createPendingStore(options: { ttlMs: number; maxEntries: number; clock: Clock }): PendingStore {
  const entries = new Map<string, PendingAuthorization>();
  const listeners: EvictionListener[] = [];
  const now = (): number => options.clock.now().getTime();

  function evict(id: string, entry: PendingAuthorization, cause: 'expired' | 'bound'): void {
    entries.delete(id);
    for (const listener of listeners) listener(id, entry, cause);
  }

  function sweep(): void {
    const t = now();
    for (const [id, entry] of entries) if (entry.expiresAt <= t) evict(id, entry, 'expired');
    // Map iteration is insertion order: drop the oldest past the bound.
    for (const [id, entry] of entries) {
      if (entries.size < options.maxEntries) break;
      evict(id, entry, 'bound');
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
        evict(requestId, entry, 'expired');
        return undefined;
      }
      return entry;
    },
    delete: (requestId) => void entries.delete(requestId),
    size: () => entries.size,
    entries() {
      const t = now();
      for (const [id, entry] of entries) if (entry.expiresAt <= t) evict(id, entry, 'expired');
      return [...entries];
    },
    onEvict: (listener) => void listeners.push(listener),
  };
}
