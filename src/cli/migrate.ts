/** `custos migrate`: applies the shared store's versioned migrations (src/app/migrations.ts) before a rolling upgrade. */
import type { CommandContext } from './context.js';
import { resolveStore } from './store-uri.js';
import type { StoreOptions } from './store-uri.js';

export async function migrate(ctx: CommandContext, opts: StoreOptions): Promise<void> {
  const { LATEST_VERSION, migrateStores } = await import('../app/index.js');
  const locations = [await resolveStore(opts)];
  if (opts.config && !opts.store) {
    const { loadConfig } = await import('../config/index.js');
    const sessions = loadConfig(opts.config).identity.sessions.store;
    if (sessions !== undefined) locations.push(sessions);
  }
  const reports = await migrateStores(locations);
  if (reports.length === 0) ctx.out('nothing to migrate: SQLite stores make their own tables when they are opened');
  for (const r of reports) {
    const applied = r.applied.length === 0 ? 'nothing applied' : `applied ${r.applied.map((m) => `${m.version} ${m.name}`).join(', ')}`;
    const ahead = r.ahead ? ` (ahead of this Custos, which knows up to ${LATEST_VERSION}: its additions are left alone)` : '';
    ctx.out(`${r.store}: at version ${r.version}; ${applied}${ahead}`);
  }
}
