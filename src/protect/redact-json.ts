/**
 * Walks any JSON value and redacts every string in it, returning a new value (the input is
 * never mutated). Structure-aware: a value under a field name that says what it is
 * (`password`, `ssn`, `dob`, `patient_name`) is redacted whole; encoded runs (base64,
 * percent-encoding) are decoded and scanned again. Object keys, booleans and null are kept.
 * Binary payloads are skipped: `data` of an `image`/`audio` content block and `blob` of an MCP
 * resource (`{ uri, blob }`); on a call classed `secret_file` such a blob is replaced whole.
 * Iterative, so deep nesting cannot overflow the stack; shared or cyclic references are copied
 * once and keep their shape. The total text inspected is capped (ERR_PROTECT_TOO_LARGE).
 */
import type { Redaction, RedactionRuleCount } from '../kernel/index.js';
import { rescanEncoded } from './decode-rescan.js';
import { looksLikeSecretValue } from './detectors/generic-secret.js';
import { isPlaceholder } from './detectors/placeholders.js';
import { fieldHint } from './field-hints.js';
import type { TextRedaction, TextRedactOptions, TextRedactor } from './redact-text.js';
import { marker, tooLarge } from './redact-text.js';

type Container = Record<string, unknown> | unknown[];

interface Frame {
  readonly src: unknown;
  readonly parent: Container;
  readonly key: string | number;
  /** The field name this value sits under (the nearest object key). */
  readonly field?: string;
}

export interface JsonRedactOptions extends TextRedactOptions {
  /** Most characters of text inspected in one value (default 64 Mi). */
  readonly maxTotalChars?: number;
}

export const DEFAULT_MAX_TOTAL_CHARS = 64 * 1024 * 1024;

class Tally {
  count = 0;
  allowed = 0;
  readonly types = new Set<string>();
  /** By rule and type (`field-name` redacts several types). */
  readonly rules = new Map<string, { rule: string; type: string; count: number }>();
  chars = 0;

  add(r: TextRedaction): void {
    this.count += r.count;
    this.allowed += r.allowed ?? 0;
    for (const t of r.types) this.types.add(t);
    for (const rule of r.rules ?? []) this.rule(rule.rule, rule.type, rule.count);
  }

  rule(rule: string, type: string, count: number): void {
    const key = `${rule}\u0000${type}`;
    const e = this.rules.get(key) ?? { rule, type, count: 0 };
    e.count += count;
    this.rules.set(key, e);
  }

  /** Rules sorted by id; rules that only fired inside a decoded run that was replaced whole stay counted. */
  sortedRules(): RedactionRuleCount[] {
    return [...this.rules.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => ({ rule: v.rule, type: v.type, count: v.count }));
  }
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

/** A value under a hinting field name, redacted whole; undefined when the hint does not apply. */
function redactByField(field: string | undefined, value: string | number, redactor: TextRedactor, tally: Tally): string | undefined {
  if (field === undefined) return undefined;
  const type = fieldHint(field);
  if (!type || !redactor.types.has(type)) return undefined;
  const text = String(value).trim();
  if (text === '' || !/[A-Za-z0-9]/.test(text) || isPlaceholder(text) || text.startsWith('[redacted:')) return undefined;
  if (type === 'secret' && !looksLikeSecretValue(text, field, '')) return undefined;
  if (redactor.isAllowed(text)) {
    tally.allowed++;
    return undefined;
  }
  tally.count++;
  tally.types.add(type);
  tally.rule('field-name', type, 1);
  return marker(type);
}

function redactString(s: string, redactor: TextRedactor, options: JsonRedactOptions | undefined, tally: Tally): string {
  const r = redactor.redact(s, options);
  tally.add(r);
  const rescan = rescanEncoded(r.text, (decoded) => redactor.redact(decoded, options));
  for (const f of rescan.findings) tally.add(f);
  return rescan.text;
}

export function redactJson<T>(value: T, redactor: TextRedactor, options?: JsonRedactOptions): Redaction<T> {
  const tally = new Tally();
  const maxTotal = options?.maxTotalChars ?? DEFAULT_MAX_TOTAL_CHARS;
  const secretFile = options?.dataClasses?.includes('secret_file') ?? false;
  const copies = new Map<object, Container>();
  const root: unknown[] = [undefined];
  const stack: Frame[] = [{ src: value, parent: root, key: 0 }];

  while (stack.length > 0) {
    const { src, parent, key, field } = stack.pop()!;
    if (typeof src === 'string' || typeof src === 'number') {
      const byField = redactByField(field, src, redactor, tally);
      if (byField !== undefined) setOwn(parent, key, byField);
      else if (typeof src === 'number') setOwn(parent, key, src);
      else {
        tally.chars += src.length;
        if (tally.chars > maxTotal) throw tooLarge(maxTotal, tally.chars);
        setOwn(parent, key, redactString(src, redactor, options, tally));
      }
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
      for (let i = src.length - 1; i >= 0; i--) stack.push({ src: src[i], parent: out, key: i, field });
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
      if (k !== skip) stack.push({ src: obj[k], parent: out, key: k, field: k });
      else if (skip === 'blob' && secretFile && obj[k] !== '') {
        tally.count += 1;
        tally.types.add('secret');
        tally.rule('secret-file-blob', 'secret', 1);
        setOwn(out, k, marker('secret'));
      } else setOwn(out, k, obj[k]);
    }
  }
  const rules = tally.sortedRules();
  return {
    value: root[0] as T,
    count: tally.count,
    types: [...tally.types].sort(),
    ...(rules.length > 0 ? { rules } : {}),
    ...(tally.allowed > 0 ? { allowed: tally.allowed } : {}),
  };
}
