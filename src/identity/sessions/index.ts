/** Sessions: revocation (admin, back-channel logout), automatic logoff, the stores behind them. */
export { createSessionGuard, sessionKeyOf, assertNotRevoked } from './session-guard.js';
export type { SessionAdmin, SessionGuardOptions } from './session-guard.js';
export { createLogoutVerifier, checkLogoutClaims, LOGOUT_EVENT } from './logout-token.js';
export type { LogoutIssuer, LogoutResult, LogoutVerifier } from './logout-token.js';
export { openSessionStore, deriveSessionStoreLocation } from './open-store.js';
export type { SessionKeys, SessionWrapKey } from './sealed-store.js';
export { MCP_SESSION_SCHEMA, SESSION_META_SCHEMA, SESSION_STORE_BASE_SCHEMA } from './types.js';
export { openSqliteSessionStore } from './sqlite-store.js';
export { openPostgresSessionStore, REVOCATION_CHANNEL } from './postgres-store.js';
export { createRevocationFeed } from './revocation-feed.js';
export { checkSessionStore } from './store-readiness.js';
export type { SessionStoreReadiness } from './store-readiness.js';
export type { Activity, BackgroundGrantRow, EmergencyGrantRow, RevocationState, SessionStore } from './types.js';
