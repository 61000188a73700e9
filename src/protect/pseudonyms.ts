/**
 * Reversible pseudonyms of the model-provider leg (the kernel's PseudonymVault port). A value
 * redacted from a prompt becomes `[redacted:TYPE#ID]` (an extension of the `[redacted:TYPE]`
 * marker: the same TYPE, then `#` and an opaque ID); the provider sees only the marker, and
 * when its answer quotes the marker Custos puts the value back, for the same user only.
 *
 * The mapping lives in this process's memory, per user (issuer and subject), each entry
 * expiring `ttlMs` after its last use; it is never written anywhere, the trail included. IDs
 * are random (another user's ID names nothing of hers), and the same value of the same user
 * keeps its ID while it lives, so a conversation stays coherent. At most `maxPerUser` entries
 * per user: the least recently used is dropped first (its marker then stays a marker).
 */
import { randomBytes } from 'node:crypto';
import type { Clock, Principal, PseudonymVault } from '../kernel/index.js';

export interface PseudonymVaultOptions {
  readonly clock: Clock;
  /** How long a pseudonym lives after its last use (default 1 h). */
  readonly ttlMs?: number;
  /** Most pseudonyms kept per user (default 10 000). */
  readonly maxPerUser?: number;
}

interface Entry {
  readonly type: string;
  readonly original: string;
  expiresAt: number;
}

/** `[redacted:TYPE#ID]`: what the provider sees in place of a value. */
export const PSEUDONYM_MARKER = /\[redacted:([a-z0-9_]+)#([a-z0-9]+)\]/g;

export function createPseudonymVault(options: PseudonymVaultOptions): PseudonymVault & { size(): number } {
  const ttlMs = options.ttlMs ?? 60 * 60_000;
  const maxPerUser = options.maxPerUser ?? 10_000;
  /** user → id → entry (a Map keeps insertion order: re-inserting on use makes it LRU). */
  const byUser = new Map<string, Map<string, Entry>>();
  /** user → `type\0original` → id. */
  const idsByUser = new Map<string, Map<string, string>>();

  const userKey = (p: Principal): string => `${p.iss}\n${p.sub}`;
  const now = (): number => options.clock.now().getTime();

  function drop(user: string, id: string, entry: Entry): void {
    byUser.get(user)?.delete(id);
    idsByUser.get(user)?.delete(`${entry.type}\0${entry.original}`);
  }

  function live(user: string, id: string): Entry | undefined {
    const entry = byUser.get(user)?.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= now()) {
      drop(user, id, entry);
      return undefined;
    }
    return entry;
  }

  function touch(user: string, id: string, entry: Entry): void {
    const entries = byUser.get(user)!;
    entries.delete(id);
    entry.expiresAt = now() + ttlMs;
    entries.set(id, entry);
  }

  /** Drops expired entries (each user's map is in last-use order, so they are at its head) and empty users. */
  function sweep(): void {
    const t = now();
    for (const [user, entries] of byUser) {
      for (const [id, entry] of entries) {
        if (entry.expiresAt > t) break;
        drop(user, id, entry);
      }
      if (entries.size === 0) {
        byUser.delete(user);
        idsByUser.delete(user);
      }
    }
  }
  let uses = 0;

  return {
    markerFor(principal: Principal) {
      const user = userKey(principal);
      if (++uses % 256 === 0) sweep();
      return (type: string, original: string): string => {
        const entries = byUser.get(user) ?? new Map<string, Entry>();
        const ids = idsByUser.get(user) ?? new Map<string, string>();
        byUser.set(user, entries);
        idsByUser.set(user, ids);
        const known = ids.get(`${type}\0${original}`);
        const entry = known === undefined ? undefined : live(user, known);
        if (known !== undefined && entry) {
          touch(user, known, entry);
          return `[redacted:${type}#${known}]`;
        }
        const id = randomBytes(6).toString('hex');
        entries.set(id, { type, original, expiresAt: now() + ttlMs });
        ids.set(`${type}\0${original}`, id);
        while (entries.size > maxPerUser) {
          const [oldest, old] = entries.entries().next().value as [string, Entry];
          drop(user, oldest, old);
        }
        return `[redacted:${type}#${id}]`;
      };
    },
    restore(principal: Principal, text: string): string {
      const user = userKey(principal);
      if (!byUser.has(user) || !text.includes('[redacted:')) return text;
      return text.replace(PSEUDONYM_MARKER, (marker, type: string, id: string) => {
        const entry = live(user, id);
        return entry && entry.type === type ? entry.original : marker;
      });
    },
    size: () => {
      sweep();
      return [...byUser.values()].reduce((n, m) => n + m.size, 0);
    },
  };
}
