/** The gateway's public surface: front doors that translate protocols into ToolCalls and back. */
export { createGateway } from './gateway.js';
export type { Gateway } from './gateway.js';
export { startGatewayServer } from './server.js';
export type { GatewayServer } from './server.js';
export { namespaceToolName, parseToolName, isValidServerName } from './shared/tool-names.js';
export { AGENT_TIER_HEADER } from './mcp/mcp-endpoint.js';
export { ERROR_TABLE, JSON_RPC_CODES, generateErrorsDoc, mapErrorCode, toHttpError, toJsonRpcError } from './errors.js';
export type { ErrorMapping, HttpError, JsonRpcError } from './errors.js';
export type { Readiness } from './http/health.js';
export type {
  DeclaredAgent,
  DeriveAgent,
  DerivedAgent,
  GatewayDeps,
  GatewayLimits,
  Logger,
  ReadinessChecks,
  AuditSearchPort,
  ConsolePort,
  SinkReadiness,
  AuditReadiness,
  IssuerStatus,
  MonitorAdminPort,
  EvidencePort,
  UpstreamConfig,
  UpstreamPool,
  UpstreamState,
  UpstreamStatus,
  UpstreamTool,
} from './types.js';
