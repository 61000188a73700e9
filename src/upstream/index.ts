/** The outbound side's public surface: the pool of MCP clients that implements the kernel's UpstreamPool port. */
export { createUpstreamPool } from './pool.js';
export type { UpstreamPoolOptions } from './pool.js';
