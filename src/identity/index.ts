/** Public surface of the identity module. */
export { createTokenVerifier } from './token-verifier.js';
export { deriveAgentContext, deriveTier, CREDENTIAL_RULES, UNNAMED_AGENT } from './agent-context.js';
export type { CredentialRule } from './agent-context.js';
export { readClaimPath } from './claims.js';
export { MAX_TOKEN_BYTES } from './decode-token.js';
export { DEFAULT_ALGORITHMS } from './issuer-config.js';
export { startDevIdentityProvider, fetchDevToken, fetchDevClientToken, DEMO_USERS, DEMO_AGENT_CLIENTS, DEV_CLIENT_ID, DEV_REDIRECT_URI } from './dev-idp/index.js';
export type { DevAgentClient, DevIdentityProvider, DevIdentityProviderOptions, DevUser } from './dev-idp/index.js';
export { createSigningKeyStore, SIGNING_ALGORITHMS } from './signing-keys.js';
export type { SigningAlgorithm, SigningKeyOptions, SigningKeyStore } from './signing-keys.js';
export { createCustosTokenVerifier } from './delegation-verifier.js';
export type { CustosTokenVerifierOptions } from './delegation-verifier.js';
export { createTokenExchanger, DEFAULT_DELEGATION_SETTINGS, JWKS_PATH, TOKEN_PATH } from './token-exchange.js';
export type { DelegationSettings, TokenExchangerOptions } from './token-exchange.js';
export { ACCESS_TOKEN_TYPE, BACKGROUND_GRANT_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from './exchange-request.js';
export type {
  ClaimMapping,
  ClosableTokenVerifier,
  DeclaredAgent,
  IssuerConfig,
  TokenVerifierOptions,
} from './types.js';
export { createIdentityServices, createLogoutVerifier, createRevocationFeed, createSessionGuard, deriveSessionStoreLocation, openSessionStore, LOGOUT_EVENT } from './sessions/index.js';
export type { IdentityServicesBundle, IdentityServicesOptions, SessionStore } from './sessions/index.js';
export { createEmergencyAccess } from './emergency/index.js';
export type { EmergencyAccess, EmergencyGrant } from './emergency/index.js';
export { createDelegation } from './delegation-service.js';
export type { Delegation, DelegationOptions } from './delegation-service.js';
