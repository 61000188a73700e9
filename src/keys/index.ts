/** The key registry's public surface: every key Custos holds, by id, from a file, an environment variable or a PKCS#11 token. */
export { createKeyRegistry, recordKeysOf } from './registry.js';
export type { EncryptionKey, HmacKey, KeyRegistry, KeySpec, KeyUse, Pkcs11Location, SigningKey } from './types.js';
