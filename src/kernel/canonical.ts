/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): object keys sorted by UTF-16 code units,
 * no whitespace, numbers in ECMAScript shortest form, strings escaped as JSON.stringify
 * does (which is what RFC 8785 §3.2.2.2 prescribes). Pure; used for hashing and signing.
 *
 * Two walks with one output. `canonicalText` recurses, building one string: the fast walk,
 * for values at most `MAX_RECURSION` levels deep (every row and payload the door admits:
 * its depth limit is 64). `writeCanonical` is iterative, an explicit stack instead of
 * recursion, so no input depth can exhaust the call stack (a row nested 100 000 deep
 * canonicalizes like any other), and streams the text in pieces; deeper values take it.
 */

type Frame =
  | { readonly kind: 'array'; readonly node: object; readonly items: readonly unknown[]; next: number }
  | { readonly kind: 'object'; readonly node: object; readonly entries: ReadonlyArray<readonly [string, unknown]>; next: number };

/** The RFC 8785 text of a JSON value. Throws TypeError on cycles, non-finite numbers and non-JSON types. */
export function canonicalize(value: unknown): string {
  const text = canonicalText(value);
  if (text !== undefined) return text;
  const parts: string[] = [];
  writeCanonical(value, (piece) => parts.push(piece));
  return parts.join('');
}

/** Deeper than this, `canonicalText` gives up and the iterative walk runs. */
const MAX_RECURSION = 200;
const TOO_DEEP = Symbol('too deep');

/** The RFC 8785 text of a value at most MAX_RECURSION levels deep, built by recursion; undefined for a deeper one. Throws as `writeCanonical` does. */
export function canonicalText(value: unknown): string | undefined {
  try {
    return textOf(value, new Set(), 0);
  } catch (err) {
    if (err === TOO_DEEP) return undefined;
    throw err;
  }
}

/**
 * An object's own keys in RFC 8785 order: Array.prototype.sort's default order compares UTF-16
 * code units, as RFC 8785 asks. Keys already in that order (the audit row builders write their
 * members so) are found so by one linear check, without the sort.
 */
export function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i += 1) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

/** A plain object (not null, not an array): what a JSON object parses to. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `openValue` and `advance` as one recursive function: the same scalars, members, order and errors. */
function textOf(input: unknown, open: Set<object>, depth: number): string {
  let value = input;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const maybeJson = value as { toJSON?: () => unknown };
    if (typeof maybeJson.toJSON === 'function') value = maybeJson.toJSON();
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalize: non-finite number');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalize: unsupported type ${typeof value}`);
  }
  if (depth >= MAX_RECURSION) throw TOO_DEEP;
  const node = value as object;
  if (open.has(node)) throw new TypeError('canonicalize: cyclic value');
  open.add(node);
  let out: string;
  if (Array.isArray(node)) {
    out = '[';
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      out += (i > 0 ? ',' : '') + textOf(item === undefined ? null : item, open, depth + 1);
    }
    out += ']';
  } else {
    const record = node as Record<string, unknown>;
    out = '{';
    let first = true;
    for (const key of sortedKeys(record)) {
      const member = record[key];
      if (member === undefined || typeof member === 'function') continue;
      out += (first ? '' : ',') + JSON.stringify(key) + ':' + textOf(member, open, depth + 1);
      first = false;
    }
    out += '}';
  }
  open.delete(node);
  return out;
}

/** Emits the RFC 8785 text of a JSON value piece by piece, in order. */
export function writeCanonical(value: unknown, emit: (piece: string) => void): void {
  const stack: Frame[] = [];
  const open = new Set<object>();
  let pending: { value: unknown } | undefined = { value };
  for (;;) {
    if (pending) {
      const frame = openValue(pending.value, emit, open);
      if (frame) stack.push(frame);
      pending = undefined;
    }
    const top = stack[stack.length - 1];
    if (!top) return;
    pending = advance(top, emit);
    if (!pending) {
      emit(top.kind === 'array' ? ']' : '}');
      open.delete(top.node);
      stack.pop();
    }
  }
}

/** The next member of a container (after emitting its separator and key), or undefined when it is done. */
function advance(frame: Frame, emit: (piece: string) => void): { value: unknown } | undefined {
  if (frame.kind === 'array') {
    if (frame.next >= frame.items.length) return undefined;
    if (frame.next > 0) emit(',');
    const item = frame.items[frame.next++];
    return { value: item === undefined ? null : item };
  }
  if (frame.next >= frame.entries.length) return undefined;
  const entry = frame.entries[frame.next] as readonly [string, unknown];
  emit(`${frame.next > 0 ? ',' : ''}${JSON.stringify(entry[0])}:`);
  frame.next += 1;
  return { value: entry[1] };
}

/** Emits a scalar whole, or a container's opening bracket and returns its frame. */
function openValue(input: unknown, emit: (piece: string) => void, open: Set<object>): Frame | undefined {
  let value = input;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const maybeJson = value as { toJSON?: () => unknown };
    if (typeof maybeJson.toJSON === 'function') value = maybeJson.toJSON();
  }
  if (value === null) {
    emit('null');
    return undefined;
  }
  switch (typeof value) {
    case 'boolean':
      emit(value ? 'true' : 'false');
      return undefined;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalize: non-finite number');
      emit(JSON.stringify(value)); // ES shortest round-trip form, -0 → 0
      return undefined;
    case 'string':
      emit(JSON.stringify(value));
      return undefined;
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalize: unsupported type ${typeof value}`);
  }
  const node = value as object;
  if (open.has(node)) throw new TypeError('canonicalize: cyclic value');
  open.add(node);
  if (Array.isArray(node)) {
    emit('[');
    return { kind: 'array', node, items: node as unknown[], next: 0 };
  }
  const entries = Object.entries(node)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  emit('{');
  return { kind: 'object', node, entries, next: 0 };
}
