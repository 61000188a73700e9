import path from 'node:path';

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
