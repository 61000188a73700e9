/**
 * Walks any JSON value and redacts every string in it, returning a new value (the input is
 * never mutated). Object keys, numbers, booleans and null are kept. Binary payloads are
 * skipped: `data` of an `image`/`audio` content block and `blob` of an MCP resource
 * (`{ uri, blob }`); on a call classed `secret_file` such a blob is replaced whole.
 * Iterative, so deep nesting cannot overflow the stack; shared or cyclic references are
 * copied once and keep their shape.
 */
import type { Redaction } from '../kernel/index.js';
import type { TextRedactOptions, TextRedactor } from './redact-text.js';
import { marker } from './redact-text.js';

type Container = Record<string, unknown> | unknown[];

interface Frame {
  readonly src: unknown;
  readonly parent: Container;
  readonly key: string | number;
}

interface Tally {
  count: number;
  readonly types: Set<string>;
}

function setOwn(target: Container, key: string | number, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else (target as Record<string, unknown>)[key] = value;
}

function isWalkableObject(value: object): boolean {
  return !(value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer);
}

/** Which of an object's fields hold binary payloads that are not text. */
function binaryField(obj: Record<string, unknown>): string | undefined {
  if ((obj.type === 'image' || obj.type === 'audio') && 'data' in obj) return 'data';
  if ('blob' in obj && 'uri' in obj) return 'blob';
  return undefined;
}

export function redactJson<T>(value: T, redactor: TextRedactor, options?: TextRedactOptions): Redaction<T> {
  const tally: Tally = { count: 0, types: new Set() };
  const secretFile = options?.dataClasses?.includes('secret_file') ?? false;
  const copies = new Map<object, Container>();
  const root: unknown[] = [undefined];
  const stack: Frame[] = [{ src: value, parent: root, key: 0 }];

  const redactString = (s: string): string => {
    const r = redactor.redact(s, options);
    tally.count += r.count;
    for (const t of r.types) tally.types.add(t);
    return r.text;
  };

  while (stack.length > 0) {
    const { src, parent, key } = stack.pop()!;
    if (typeof src === 'string') {
      setOwn(parent, key, redactString(src));
      continue;
    }
    if (typeof src !== 'object' || src === null || !isWalkableObject(src)) {
      setOwn(parent, key, src);
      continue;
    }
    const seen = copies.get(src);
    if (seen) {
      setOwn(parent, key, seen);
      continue;
    }
    if (Array.isArray(src)) {
      const out: unknown[] = new Array<unknown>(src.length);
      copies.set(src, out);
      setOwn(parent, key, out);
      for (let i = src.length - 1; i >= 0; i--) stack.push({ src: src[i], parent: out, key: i });
      continue;
    }
    const obj = src as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    copies.set(src, out);
    setOwn(parent, key, out);
    const skip = binaryField(obj);
    const keys = Object.keys(obj);
    for (const k of keys) setOwn(out, k, undefined); // keep the key order
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      if (k !== skip) stack.push({ src: obj[k], parent: out, key: k });
      else if (skip === 'blob' && secretFile && obj[k] !== '') {
        tally.count += 1;
        tally.types.add('secret');
        setOwn(out, k, marker('secret'));
      } else setOwn(out, k, obj[k]);
    }
  }
  return { value: root[0] as T, count: tally.count, types: [...tally.types].sort() };
}
