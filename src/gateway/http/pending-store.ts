/**
 * Authorizations the decision API gave out whose next leg is still to come (a result to record,
 * or a human's answer to a held call): bounded, with a TTL, over the kernel's
 * PendingAuthorizationStore port. Served, that is the store the replicas share
 * (src/audit/pending-authorizations.ts), so the next leg may reach any replica; `take` is atomic,
 * so each leg runs once. Without one (unit tests), an in-memory store of the same contract.
 * Expired entries (and the oldest past the bound) are dropped, each by one replica, which tells its
 * eviction listeners (a held call's timeout row): on every `add` (with the bound), on a `take` that
 * finds nothing (a late answer), and on other reads at most once per EXPIRY_SWEEP_MS (reads skip expired rows themselves; the sweep only tells the
 * listeners), so a result or a listing costs the shared store one query, not three.
 */
import type { Authorization, Clock, PendingAuthorizationRow, PendingAuthorizationStore } from '../../kernel/index.js';

export interface PendingAuthorization {
  readonly authorization: Authorization;
  readonly owner: { readonly sub: string; readonly iss: string };
  readonly expiresAt: number;
}

export interface PendingStore {
  /** Stores the entry; undefined when a live entry has this request id. */
  add(requestId: string, authorization: Authorization, owner: PendingAuthorization['owner']): Promise<PendingAuthorization | undefined>;
  /** The live entry, or undefined when unknown or expired. */
  get(requestId: string): Promise<PendingAuthorization | undefined>;
  /** Removes and returns the live entry when it is `owner`'s and held (or not) as asked; one caller, on any replica, gets it. */
  take(requestId: string, owner: PendingAuthorization['owner'], held: boolean): Promise<PendingAuthorization | undefined>;
  /** Puts back an entry taken whose leg then failed (the caller may try again until it expires). */
  restore(requestId: string, entry: PendingAuthorization): Promise<void>;
  /** Every live entry, oldest first. */
  entries(): Promise<Array<[string, PendingAuthorization]>>;
  /** Called for every entry dropped because it expired or the store was full (not for take()). */
  onEvict(listener: EvictionListener): void;
}

export type EvictionListener = (requestId: string, entry: PendingAuthorization, cause: 'expired' | 'bound') => void;

/** How often reads sweep expired entries (by the store's clock). */
const EXPIRY_SWEEP_MS = 1000;

const isHeld = (authorization: Authorization): boolean => authorization.decision.decision === 'confirm';
const entryOf = (row: PendingAuthorizationRow): PendingAuthorization => ({ authorization: row.authorization, owner: row.owner, expiresAt: row.expiresAt });

export function createPendingStore(options: { ttlMs: number; maxEntries: number; clock: Clock; store?: PendingAuthorizationStore }): PendingStore {
  const store = options.store ?? createMemoryPendingAuthorizations();
  const listeners: EvictionListener[] = [];
  const now = (): number => options.clock.now().getTime();

  let sweptAt = -Infinity;

  async function sweep(maxLive?: number): Promise<void> {
    sweptAt = now();
    for (const { row, cause } of await store.sweep(sweptAt, maxLive)) for (const listener of listeners) listener(row.requestId, entryOf(row), cause);
  }

  const sweepIfDue = (): Promise<void> => (now() - sweptAt >= EXPIRY_SWEEP_MS ? sweep() : Promise.resolve());

  async function put(requestId: string, entry: PendingAuthorization): Promise<boolean> {
    const row = { ...entry, requestId, owner: { sub: entry.owner.sub, iss: entry.owner.iss }, held: isHeld(entry.authorization) };
    return store.put(row, now());
  }

  return {
    async add(requestId, authorization, owner) {
      await sweep(options.maxEntries);
      const entry = { authorization, owner: { sub: owner.sub, iss: owner.iss }, expiresAt: now() + options.ttlMs };
      return (await put(requestId, entry)) ? entry : undefined;
    },
    async get(requestId) {
      await sweepIfDue();
      const row = await store.get(requestId, now());
      return row && entryOf(row);
    },
    async take(requestId, owner, held) {
      await sweepIfDue();
      const row = await store.take(requestId, owner, held, now());
      if (!row) await sweep(); // a late answer: its expired hold is dropped (and its timeout row written) now, as before the 404
      return row && entryOf(row);
    },
    async restore(requestId, entry) {
      await put(requestId, entry);
    },
    async entries() {
      await sweepIfDue();
      return (await store.list(now())).map((row) => [row.requestId, entryOf(row)]);
    },
    onEvict: (listener) => void listeners.push(listener),
  };
}

/** The port in this process's memory (one replica; unit tests). */
export function createMemoryPendingAuthorizations(): PendingAuthorizationStore {
  const rows = new Map<string, PendingAuthorizationRow>(); // insertion order: oldest first
  const live = (row: PendingAuthorizationRow | undefined, now: number): row is PendingAuthorizationRow => row !== undefined && row.expiresAt > now;
  return {
    async put(row, now) {
      if (live(rows.get(row.requestId), now)) return false;
      rows.delete(row.requestId);
      rows.set(row.requestId, row);
      return true;
    },
    get: async (requestId, now) => {
      const row = rows.get(requestId);
      return live(row, now) ? row : undefined;
    },
    async take(requestId, owner, held, now) {
      const row = rows.get(requestId);
      if (!live(row, now) || row.owner.sub !== owner.sub || row.owner.iss !== owner.iss || row.held !== held) return undefined;
      rows.delete(requestId);
      return row;
    },
    async sweep(now, maxLive) {
      const dropped: Array<{ row: PendingAuthorizationRow; cause: 'expired' | 'bound' }> = [];
      for (const row of rows.values()) if (!live(row, now)) dropped.push({ row, cause: 'expired' });
      for (const { row } of dropped) rows.delete(row.requestId);
      for (const row of rows.values()) {
        if (maxLive === undefined || rows.size < maxLive) break;
        rows.delete(row.requestId);
        dropped.push({ row, cause: 'bound' });
      }
      return dropped;
    },
    list: async (now) => [...rows.values()].filter((row) => live(row, now)),
    close: async () => undefined,
  };
}
