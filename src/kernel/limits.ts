/**
 * Input limits: how deep, how many and how large a value Custos accepts at a door or from
 * an upstream. A value past any limit is never classified, stored or forwarded: the call is
 * denied (`arguments_too_complex`) or the output withheld (`output_too_complex`), with a row.
 * The walk is iterative and stops at the first limit, so its cost is bounded by the limits.
 */
import { DENY_REASONS } from './deny-reasons.js';

export interface InputLimits {
  /** Deepest nesting of objects and arrays (a flat object is depth 1). */
  readonly maxDepth: number;
  /** Most keys in one object. */
  readonly maxObjectKeys: number;
  /** Most items in one array. */
  readonly maxArrayItems: number;
  /** Most values (objects, arrays, scalars) in the whole value. */
  readonly maxValues: number;
  /** Longest string (UTF-16 code units), keys included. */
  readonly maxStringLength: number;
  /** Largest whole value, approximated as its JSON length in characters. */
  readonly maxTotalSize: number;
}

export type InputLimitName = keyof InputLimits;

export const DEFAULT_INPUT_LIMITS: InputLimits = Object.freeze({
  maxDepth: 64,
  maxObjectKeys: 10_000,
  maxArrayItems: 100_000,
  maxValues: 250_000,
  maxStringLength: 8 * 1024 * 1024,
  maxTotalSize: 32 * 1024 * 1024,
});

/** Which limit a value broke, and its configured maximum. */
export interface LimitExceeded {
  readonly limit: string;
  readonly max: number;
}

/** Deny reasons of the input checks (members of DENY_REASONS). */
export const ARGUMENTS_TOO_COMPLEX = DENY_REASONS.ARGUMENTS_TOO_COMPLEX;
export const ARGUMENTS_INVALID = DENY_REASONS.ARGUMENTS_INVALID;
/** The `output.error` of a result row whose output was past a limit and withheld. */
export const OUTPUT_TOO_COMPLEX = 'output_too_complex';

/** The first limit `value` exceeds, or undefined when it is within all of them. */
export function findLimitExceeded(value: unknown, limits: InputLimits = DEFAULT_INPUT_LIMITS): LimitExceeded | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let values = 0;
  let size = 0;
  const over = (limit: InputLimitName): LimitExceeded => ({ limit, max: limits[limit] });
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop() as { value: unknown; depth: number };
    if (++values > limits.maxValues) return over('maxValues');
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength) return over('maxStringLength');
      size += v.length + 2;
    } else if (typeof v === 'object' && v !== null) {
      if (depth + 1 > limits.maxDepth) return over('maxDepth');
      size += 2;
      if (Array.isArray(v)) {
        if (v.length > limits.maxArrayItems) return over('maxArrayItems');
        for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth: depth + 1 });
      } else {
        const keys = Object.keys(v);
        if (keys.length > limits.maxObjectKeys) return over('maxObjectKeys');
        for (const k of keys) {
          if (k.length > limits.maxStringLength) return over('maxStringLength');
          size += k.length + 4;
          stack.push({ value: (v as Record<string, unknown>)[k], depth: depth + 1 });
        }
      }
    } else {
      size += 8;
    }
    if (size > limits.maxTotalSize) return over('maxTotalSize');
  }
  return undefined;
}
