import { createHash } from 'node:crypto';
import { canonicalText, writeCanonical } from './canonical.js';

/** Hex SHA-256 of a string (UTF-8) or bytes. Pure computation, no I/O. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

const CHUNK = 64 * 1024;

/**
 * SHA-256 of a JSON value's RFC 8785 canonical form; `undefined` hashes as the empty string.
 * The canonical text is built by the recursive walk (`canonicalText`), or for a value too deep
 * for it streamed into the hash in chunks by the iterative one.
 */
export function digestJson(value: unknown): string {
  const hash = createHash('sha256');
  if (value === undefined) return hash.update('').digest('hex');
  const text = canonicalText(value);
  if (text !== undefined) return hash.update(text).digest('hex');
  let buffer = '';
  writeCanonical(value, (piece) => {
    buffer += piece;
    if (buffer.length >= CHUNK) {
      hash.update(buffer);
      buffer = '';
    }
  });
  return hash.update(buffer).digest('hex');
}
