import { createAuditStore } from './registry.js';
import type { AuditStoreOptions, VerifyReport } from './types.js';
import { verifyChain } from './verify-chain.js';
import type { VerifyOptions } from './verify-chain.js';

/**
 * Opens the store read-only and verifies every stored row from its raw text, so a
 * changed byte in a row is caught even when the row no longer parses.
 */
export async function verifyStore(uri: string, options: Omit<AuditStoreOptions, 'readonly'> & Pick<VerifyOptions, 'expectHead'> = {}): Promise<VerifyReport> {
  const { expectHead, ...storeOptions } = options;
  const store = await createAuditStore(uri, { ...storeOptions, readonly: true });
  try {
    return await verifyChain(store.readRaw(), expectHead ? { expectHead } : {});
  } finally {
    await store.close();
  }
}
