import { createHash } from 'node:crypto';
import { canonicalize } from './canonical.js';

/** Hex SHA-256 of a string (UTF-8) or bytes. Pure computation, no I/O. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of a JSON value's RFC 8785 canonical form; `undefined` hashes as the empty string. */
export function digestJson(value: unknown): string {
  return sha256Hex(value === undefined ? '' : canonicalize(value));
}
