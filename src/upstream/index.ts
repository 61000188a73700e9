/** The outbound side's public surface: the pool of MCP clients that implements the kernel's UpstreamPool port. */
export { createUpstreamPool } from './pool.js';
export type { UpstreamPoolOptions } from './pool.js';
export { createSecureFetch, spkiPin, MIN_TLS_VERSION } from './secure-fetch.js';
export type { ConnectionSettings, PinMismatch, SecureFetch, SecureFetchOptions } from './secure-fetch.js';
export { createModelProviders, destinationOf, pinOrBlocked } from './model-providers.js';
export type { ModelProviderConfig } from './model-providers.js';
export { probeTls } from './tls-probe.js';
export type { CertificateSummary, TlsProbe } from './tls-probe.js';
