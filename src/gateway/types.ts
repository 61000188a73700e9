/** Types the gateway's callers see: its dependencies and the upstream pool interface. */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AgentContext, Clock, IdSource, Pipeline, PolicySource, Principal, TokenVerifier } from '../kernel/index.js';

export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

/** What an agent says about itself: its word, to be checked against the credential. */
export interface DeclaredAgent {
  readonly name: string;
  readonly runtime?: string;
  readonly version?: string;
  /** As the agent said it; a value that is not the derived tier (or not a tier at all) is a mismatch. */
  readonly tier?: string;
}

export interface DerivedAgent {
  readonly agent: AgentContext;
  /** The declared tier disagrees with the one the credential allows: the call is denied. */
  readonly tierMismatch: boolean;
}

/** Derives the agent context (tier, delegation chain) from the credential; identity provides it. */
export type DeriveAgent = (principal: Principal, declared: DeclaredAgent) => DerivedAgent;

export interface UpstreamConfig {
  readonly name: string;
  readonly command?: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type UpstreamState = 'connecting' | 'ready' | 'failed' | 'closed';

export interface UpstreamStatus {
  readonly name: string;
  readonly transport: 'stdio' | 'http';
  readonly state: UpstreamState;
  readonly tools: number;
  /** An error code (never a message) when the upstream failed. */
  readonly error?: string;
}

export interface UpstreamTool {
  readonly server: string;
  readonly tool: Tool;
}

export interface UpstreamPool {
  /** Every tool of every ready upstream, from the cache (names as the upstream gives them). */
  listTools(): UpstreamTool[];
  /** True when `server` is a configured upstream (ready or not). */
  has(server: string): boolean;
  /** Calls a tool; throws ERR_GATEWAY_UPSTREAM_UNAVAILABLE or ERR_GATEWAY_UPSTREAM_FAILED. */
  callTool(server: string, name: string, args: Record<string, unknown> | undefined, options?: { signal?: AbortSignal }): Promise<unknown>;
  status(): UpstreamStatus[];
  /** Called after any upstream's tool list changed; returns an unsubscribe function. */
  onToolsChanged(listener: () => void): () => void;
  close(): Promise<void>;
}

export interface ReadinessChecks {
  /** True when the audit store can write; absent means not checked. */
  readonly audit?: () => boolean | Promise<boolean>;
}

export interface GatewayDeps {
  readonly verifier: TokenVerifier;
  readonly pipeline: Pipeline;
  readonly policy: PolicySource;
  readonly upstreams: UpstreamPool;
  readonly deriveAgent: DeriveAgent;
  /** The MCP endpoint's public URL, e.g. http://127.0.0.1:8787/mcp: the RFC 9728 `resource`. */
  readonly resourceUrl: string;
  readonly authorizationServers: readonly string[];
  readonly scopesSupported?: readonly string[];
  readonly logger: Logger;
  readonly ids?: IdSource;
  /** Time for pending-authorization TTLs and session idling (default: the system clock). */
  readonly clock?: Clock;
  readonly readiness?: ReadinessChecks;
  readonly limits?: GatewayLimits;
}

export interface GatewayLimits {
  /** Largest accepted request body, in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Most concurrent MCP sessions (default 1000). */
  readonly maxSessions?: number;
  /** An MCP session idle this long is closed (default 30 min). */
  readonly sessionIdleMs?: number;
  /** Pending authorizations of the decision API live this long (default 10 min). */
  readonly pendingTtlMs?: number;
  /** Most pending authorizations kept (default 10 000; the oldest is dropped). */
  readonly maxPending?: number;
}
