export { startCustos } from './start.js';
export type { CustosInstance, StartOptions } from './start.js';
export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { runQuickstart } from './quickstart.js';
export { auditTls } from './outbound.js';
export type { TlsAuditEntry } from './outbound.js';
export { LATEST_VERSION, MIGRATIONS, migrateStore, migrateStores } from './migrations.js';
export type { Migration, MigrationReport } from './migrations.js';
