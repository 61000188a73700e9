/** Verification: a bearer token → a verified Principal (OIDC/JWT against the configured issuers), and the agent context derived from it. */
export { createTokenVerifier } from './token-verifier.js';
export { deriveAgentContext, deriveTier, CREDENTIAL_RULES, UNNAMED_AGENT } from './agent-context.js';
export type { CredentialRule } from './agent-context.js';
export { buildPrincipal, readClaimPath } from './claims.js';
export { decodeUnverified, MAX_TOKEN_BYTES } from './decode-token.js';
export { DEFAULT_ALGORITHMS } from './issuer-config.js';
export { mapJoseError } from './map-jose-error.js';
export { presentedToken } from './presented-token.js';
export type { ClaimMapping, ClosableTokenVerifier, DeclaredAgent, IssuerConfig, TokenVerifierOptions } from './types.js';
