/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): object keys sorted by UTF-16 code units,
 * no whitespace, numbers in ECMAScript shortest form, strings escaped as JSON.stringify
 * does (which is what RFC 8785 §3.2.2.2 prescribes). Pure; used for hashing and signing.
 */
export function canonicalize(value: unknown): string {
  return serialize(value, new Set());
}

function serialize(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalize: non-finite number');
      return JSON.stringify(value); // ES shortest round-trip form, -0 → 0
    case 'string':
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalize: unsupported type ${typeof value}`);
  }
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError('canonicalize: cyclic value');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return `[${obj.map((item) => (item === undefined ? 'null' : serialize(item, seen))).join(',')}]`;
    }
    const maybeJson = obj as { toJSON?: () => unknown };
    if (typeof maybeJson.toJSON === 'function') return serialize(maybeJson.toJSON(), seen);
    const entries = Object.entries(obj)
      .filter(([, v]) => v !== undefined && typeof v !== 'function')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v, seen)}`).join(',')}}`;
  } finally {
    seen.delete(obj);
  }
}
