export { configSchema } from './schema.js';
export type { CustosConfig, CustosConfigInput, IssuerSettings, KeyConfig, SinkConfig, UpstreamSettings } from './schema.js';
export { checkpointKeyCommand, loadConfig, readConfigFile, resolveConfig, formatIssuePath } from './load.js';
export type { ConfigDocument, ResolvedConfig, ResolvedKey } from './load.js';
export { generateConfigJsonSchema, generateConfigDoc } from './generate.js';
export { isLoopbackUrl } from './connection.js';
