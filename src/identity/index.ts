/** Public surface of the identity module. */
export { createTokenVerifier } from './token-verifier.js';
export { deriveAgentContext, deriveTier, CREDENTIAL_RULES, UNNAMED_AGENT } from './agent-context.js';
export type { CredentialRule } from './agent-context.js';
export { readClaimPath } from './claims.js';
export { MAX_TOKEN_BYTES } from './decode-token.js';
export { DEFAULT_ALGORITHMS } from './issuer-config.js';
export { startDevIdentityProvider, fetchDevToken, DEMO_USERS, DEV_CLIENT_ID, DEV_REDIRECT_URI } from './dev-idp/index.js';
export type { DevIdentityProvider, DevIdentityProviderOptions, DevUser } from './dev-idp/index.js';
export type {
  ClaimMapping,
  ClosableTokenVerifier,
  DeclaredAgent,
  IssuerConfig,
  TokenVerifierOptions,
} from './types.js';
