/** Where the session store lives (identity.sessions.store, relative to the config file; default beside the audit store). */
import path from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import { deriveSessionStoreLocation } from '../identity/index.js';

export function resolveSessionStore(config: ResolvedConfig): string {
  const configured = config.identity.sessions.store;
  if (configured === undefined) return deriveSessionStoreLocation(config.audit.store);
  return configured.startsWith('sqlite:') ? `sqlite:${path.resolve(config.baseDir, configured.slice('sqlite:'.length))}` : configured;
}
