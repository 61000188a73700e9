/**
 * Answers of the session store's per-call reads, kept in memory while the database is unchanged.
 * Exact, not eventually right: every read first asks the database's change counter (SQLite's
 * `PRAGMA data_version`, which moves when any other connection commits, another process's
 * included) and forgets every answer when it moved; this connection's own writes call `clear`.
 * So a revocation or a grant written anywhere is seen on the very next read, as without the memo.
 * Bounded: past `maxEntries` the oldest answer is dropped.
 */

export interface ReadMemo {
  /** The answer kept under `key` at the database's current version, else undefined. */
  get<T>(key: string): T | undefined;
  /** Keeps `value` under `key` (read at the current version). */
  set(key: string, value: unknown): void;
  /** Forgets every answer (after this connection's own write). */
  clear(): void;
  readonly size: number;
}

export function createReadMemo(options: { readonly version: () => unknown; readonly maxEntries: number }): ReadMemo {
  const entries = new Map<string, unknown>();
  let seen: unknown;
  return {
    get<T>(key: string): T | undefined {
      const version = options.version();
      if (version !== seen) {
        entries.clear();
        seen = version;
        return undefined;
      }
      return entries.get(key) as T | undefined;
    },
    set(key, value) {
      if (options.maxEntries <= 0) return;
      entries.delete(key);
      entries.set(key, value);
      if (entries.size > options.maxEntries) entries.delete(entries.keys().next().value as string);
    },
    clear: () => entries.clear(),
    get size() {
      return entries.size;
    },
  };
}

/** An unambiguous key of several strings (each prefixed by its length, so no separator can collide). */
export function memoKey(kind: string, ...parts: readonly (string | undefined)[]): string {
  let key = kind;
  for (const part of parts) key += part === undefined ? '-' : `${part.length}:${part}`;
  return key;
}
