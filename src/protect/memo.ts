/**
 * A bounded memo for work that depends only on a short string and what never changes under it
 * (a field name's hint, a path's credential-file kinds, a path's data classes under one bundle's
 * rules). Names and paths repeat call after call, and in a running server each such small piece
 * of work costs several times its warm micro-benchmark (cold caches between calls), so it is done
 * once per distinct key. Bounded: emptied when full; a key longer than `maxKeyChars` is not kept.
 */
export function remembered<V>(compute: (key: string) => V, max = 4096, maxKeyChars = 1024): (key: string) => V {
  const known = new Map<string, V>();
  return (key) => {
    if (known.has(key)) return known.get(key) as V;
    const value = compute(key);
    if (key.length > maxKeyChars) return value;
    if (known.size >= max) known.clear();
    known.set(key, value);
    return value;
  };
}
