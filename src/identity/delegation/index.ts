/** Delegation and Custos' own tokens: signing keys, RFC 8693 token exchange, the verifier of Custos-issued tokens, background grants. */
export { createDelegation } from './delegation-service.js';
export type { IdpExchangeClient } from './idp-exchange.js';
export type { Delegation, DelegationOptions } from './delegation-service.js';
export { createSigningKeyStore, SIGNING_ALGORITHMS } from './signing-keys.js';
export type { SigningAlgorithm, SigningKeyOptions, SigningKeyStore } from './signing-keys.js';
export { createCustosTokenVerifier } from './delegation-verifier.js';
export type { CustosTokenVerifierOptions } from './delegation-verifier.js';
export { createTokenExchanger, DEFAULT_DELEGATION_SETTINGS, JWKS_PATH, TOKEN_PATH } from './token-exchange.js';
export type { DelegationSettings, TokenExchangerOptions } from './token-exchange.js';
export { ACCESS_TOKEN_TYPE, BACKGROUND_GRANT_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from './exchange-request.js';
export { createOfflineJournal, DEFAULT_FAILOPEN_TTL_SEC, FAILOPEN_METADATA_TYP, JOURNAL_ENTRY_TYP } from './offline-journal.js';
export type { OfflineJournalOptions } from './offline-journal.js';
export { createMemoryGrantRegistry, createStoreGrantRegistry } from './background-grants.js';
export type { GrantRecord, GrantRegistry } from './background-grants.js';
