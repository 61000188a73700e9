import path from 'node:path';
import { createAuditStore } from '../audit/index.js';
import type { AuditStoreAdmin, AuditStoreOptions } from '../audit/index.js';
import type { ResolvedConfig } from '../config/index.js';

export interface StoreOptions {
  readonly store?: string;
  readonly config?: string;
}

/**
 * The trail a command reads: --store wins (a relative sqlite: path is taken from the working
 * directory), then the store of --config, then the quick start's sqlite:./data/audit.sqlite.
 * The config module is loaded only when a config file is named.
 */
export async function resolveStore(opts: StoreOptions): Promise<string> {
  if (opts.store) {
    return opts.store.startsWith('sqlite:') && opts.store !== 'sqlite::memory:' ? `sqlite:${path.resolve(opts.store.slice('sqlite:'.length))}` : opts.store;
  }
  if (opts.config) {
    const { loadConfig } = await import('../config/index.js');
    return loadConfig(opts.config).audit.store;
  }
  return `sqlite:${path.resolve('data/audit.sqlite')}`;
}

/**
 * Opens the trail a command reads or writes. With --config, through the config's key
 * registry (a sealed trail opens only with its keys; --store still picks the location);
 * without one, the store as is (sealed rows then fail to open, naming the missing key).
 * `loaded` is the --config file already loaded by the command (then it is not read again).
 */
export async function openStore(opts: StoreOptions, options: Omit<AuditStoreOptions, 'keys'> = {}, loaded?: ResolvedConfig): Promise<AuditStoreAdmin> {
  if (!opts.config) return createAuditStore(await resolveStore(opts), options);
  const { createKeyRegistry, recordKeysOf } = await import('../keys/index.js');
  const config = loaded ?? (await import('../config/index.js')).loadConfig(opts.config);
  const keys = createKeyRegistry(config.keys);
  try {
    const store = await createAuditStore(opts.store ? await resolveStore({ store: opts.store }) : config.audit.store, {
      ...options,
      keys: recordKeysOf(keys, config.audit.encryption?.key),
    });
    return { ...store, close: () => store.close().finally(() => keys.close()) };
  } catch (err) {
    keys.close();
    throw err;
  }
}
