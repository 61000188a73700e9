/** @custos/sdk: the Custos decision API for agent frameworks, fail-closed by default. */
export { createCustos, DEFAULT_TIMEOUT_MS, DEFAULT_METADATA_REFRESH_MS } from './client.js';
export type { Custos, CustosOptions, Decision, Reported, ToolRef } from './client.js';
export { CustosSdkError, CustosUnavailableError, CustosDeniedError, CustosRejectedError } from './errors.js';
export type { CustosSdkErrorCode, UnavailableReason } from './errors.js';
export type { FailOpenMetadata } from './failopen.js';
