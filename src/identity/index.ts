/**
 * Public surface of the identity module: one room per concern, each behind its own index.ts
 * (verification, delegation and Custos' own tokens, sessions, emergency access), and the
 * composition of the rooms the app starts with. The dev-only identity provider is not here:
 * it is its own entry (dev-idp/index.ts), imported by the quick start and the test harness only.
 */
export {
  createTokenVerifier,
  deriveAgentContext,
  deriveTier,
  CREDENTIAL_RULES,
  UNNAMED_AGENT,
  readClaimPath,
  MAX_TOKEN_BYTES,
  DEFAULT_ALGORITHMS,
} from './verification/index.js';
export type { ClaimMapping, ClosableTokenVerifier, CredentialRule, DeclaredAgent, IssuerConfig, TokenVerifierOptions } from './verification/index.js';
export {
  createDelegation,
  createSigningKeyStore,
  SIGNING_ALGORITHMS,
  createCustosTokenVerifier,
  createTokenExchanger,
  DEFAULT_DELEGATION_SETTINGS,
  JWKS_PATH,
  TOKEN_PATH,
  ACCESS_TOKEN_TYPE,
  BACKGROUND_GRANT_TOKEN_TYPE,
  JWT_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
} from './delegation/index.js';
export type {
  CustosTokenVerifierOptions,
  Delegation,
  DelegationOptions,
  DelegationSettings,
  SigningAlgorithm,
  SigningKeyOptions,
  SigningKeyStore,
  TokenExchangerOptions,
} from './delegation/index.js';
export {
  createLogoutVerifier,
  createRevocationFeed,
  createSessionGuard,
  deriveSessionStoreLocation,
  openSessionStore,
  LOGOUT_EVENT,
  MCP_SESSION_SCHEMA,
  SESSION_META_SCHEMA,
  SESSION_STORE_BASE_SCHEMA,
} from './sessions/index.js';
export type { SessionStore } from './sessions/index.js';
export { createEmergencyAccess } from './emergency/index.js';
export type { EmergencyAccess, EmergencyGrant } from './emergency/index.js';
export { createIdentityServices } from './services.js';
export type { IdentityServicesBundle, IdentityServicesOptions } from './services.js';
