/** Types the gateway's callers see: its dependencies and the upstream pool interface. */
import type { CreateMessageRequest, CreateMessageResult, ElicitRequest, ElicitResult, LoggingLevel, Progress, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuthFailureSettings } from './http/flood-guard.js';
import type { IdentityServices } from './http/session-types.js';
import type { AgentContext, Clock, IdSource, InputLimits, Pipeline, PolicySource, Principal, Protector, TokenExchanger, TokenVerifier } from '../kernel/index.js';

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
  /** 'session': each agent MCP session gets its own connection (stdio: its own process); default 'shared'. */
  readonly isolation?: UpstreamIsolation;
  /** With isolation 'session': most per-session connections at once (default 50); past it calls are ERR_GATEWAY_SESSION_LIMIT. */
  readonly maxSessions?: number;
}

export type UpstreamIsolation = 'shared' | 'session';

export type UpstreamState = 'connecting' | 'ready' | 'failed' | 'closed';

export interface UpstreamStatus {
  readonly name: string;
  readonly transport: 'stdio' | 'http';
  readonly state: UpstreamState;
  readonly tools: number;
  /** An error code (never a message) when the upstream failed. */
  readonly error?: string;
  /** Restarts after a failure since the pool started. */
  readonly restarts?: number;
  /** When a failed upstream is tried again (ISO time). */
  readonly nextRetryAt?: string;
  /** With isolation 'session': open per-session connections and their cap. */
  readonly sessions?: { readonly open: number; readonly max: number };
}

/** Where an upstream's server-to-client requests (elicitation, sampling) go: the agent session that made the call. */
export interface ClientRelay {
  /** The agent session; a request is relayed only when a single session has calls in flight to that upstream. */
  readonly session: string;
  elicit(server: string, params: ElicitRequest['params'], signal: AbortSignal): Promise<ElicitResult>;
  sample(server: string, params: CreateMessageRequest['params'], signal: AbortSignal): Promise<CreateMessageResult>;
}

export interface UpstreamCallOptions {
  readonly signal?: AbortSignal;
  /** Progress the upstream reports for this call (its own progress token is the pool's). */
  readonly onprogress?: (progress: Progress) => void;
  readonly relay?: ClientRelay;
}

/** Client requests the pool forwards to one upstream, besides tools/call. */
export type UpstreamMethod = 'resources/read' | 'resources/subscribe' | 'resources/unsubscribe' | 'prompts/get' | 'completion/complete';

export type UpstreamListKind = 'resources' | 'resourceTemplates' | 'prompts';

export type UpstreamEvent =
  | { readonly type: 'tools_changed' | 'resources_changed' | 'prompts_changed' | 'status_changed'; readonly server: string }
  | { readonly type: 'resource_updated'; readonly server: string; readonly uri: string }
  | {
      readonly type: 'log';
      readonly server: string;
      readonly level: LoggingLevel;
      readonly logger?: string;
      readonly data: unknown;
      /** Set when the message came from that agent session's own connection (isolation 'session'): it goes to that session only. */
      readonly session?: string;
    };

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
  callTool(server: string, name: string, args: Record<string, unknown> | undefined, options?: UpstreamCallOptions): Promise<unknown>;
  /** Sends another client request to one upstream; same errors as callTool. */
  request(server: string, method: UpstreamMethod, params: Record<string, unknown>, options?: UpstreamCallOptions): Promise<Record<string, unknown>>;
  /** Every item of that kind from every ready upstream that offers it (all pages); an upstream that fails is skipped and logged. */
  listAll(kind: UpstreamListKind): Promise<Array<{ readonly server: string; readonly item: Record<string, unknown> }>>;
  /** Asks every ready upstream that logs to send messages at `level` and above. */
  setLoggingLevel(level: LoggingLevel): Promise<void>;
  status(): UpstreamStatus[];
  /** Closes the per-session upstream connections of an agent session that ended (isolation 'session'). */
  releaseSession?(session: string): Promise<void>;
  /** Called after any upstream's tool list changed; returns an unsubscribe function. */
  onToolsChanged(listener: () => void): () => void;
  /** Every notification the upstreams send (list changes, resource updates, log messages) and status changes. */
  onEvent(listener: (event: UpstreamEvent) => void): () => void;
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
  /** Sessions (revocation, idle logoff), back-channel logout and break-glass; absent: none of them. */
  readonly identity?: IdentityServices;
  /** Classifies and redacts what is not a pipeline call (resource listings, log and progress messages); without it those are withheld. */
  readonly protector?: Protector;
  /** Custos' token endpoint (RFC 8693 delegation) and background grants; absent: those routes are off. */
  readonly tokens?: TokenExchanger;
  /**
   * Proxies (CIDRs or addresses) whose X-Forwarded-For is believed: behind them a request's
   * source is the right-most untrusted X-Forwarded-For address; otherwise the socket peer.
   */
  readonly trustedProxies?: readonly string[];
}

export interface GatewayLimits {
  /** Largest accepted request body, in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Depth, count and size limits of every JSON body (default DEFAULT_INPUT_LIMITS). */
  readonly input?: InputLimits;
  /** Most concurrent MCP sessions (default 1000). */
  readonly maxSessions?: number;
  /** An MCP session idle this long is closed (default 30 min). */
  readonly sessionIdleMs?: number;
  /** Pending authorizations of the decision API live this long (default 10 min). */
  readonly pendingTtlMs?: number;
  /** Most pending authorizations kept (default 10 000; the oldest is dropped). */
  readonly maxPending?: number;
  /** How long an MCP confirmation prompt waits for the user's answer (default 2 min). */
  readonly confirmationTimeoutMs?: number;
  /**
   * Unauthenticated and failed-auth requests per source: `burst` (20) and `perMinute` (30)
   * before 429, `windowMs` (60 s) of one aggregate auth_failure row, `maxSources` (10 000) tracked.
   */
  readonly authFailures?: Partial<AuthFailureSettings>;
}
