/**
 * The ports: interfaces the pipeline and the front doors depend on. Adapters that
 * implement them live in their modules and are wired only in src/app.
 */
import type {
  BeforeStateSpec,
  AgentContext,
  AuditEntry,
  AuditRecord,
  CallKind,
  Decision,
  Principal,
  Redaction,
  RedactionDestination,
  RedactionPolicy,
  ToolCall,
  Tier,
  ToolClassification,
  ToolRef,
} from './types.js';
import type { EgressRules } from './egress.js';

/** Verifies a bearer credential and returns the principal, or throws a CustosError (ERR_IDENTITY_*). */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/** The action a decision is asked about. */
export type PolicyAction = 'call_tool' | 'list_tool' | 'read_resource' | 'get_prompt' | 'sample' | 'model_request';

export interface DecisionInput {
  readonly action: PolicyAction;
  readonly principal: Principal;
  readonly agent: AgentContext;
  readonly tool: ToolRef;
  readonly toolClasses: readonly string[];
  /** Classes of the data the call touches, from the protect classifier (e.g. phi, secret_file). */
  readonly dataClasses: readonly string[];
  /** Tenants the call names in its arguments or target (see TenancyRules). */
  readonly resourceTenants?: readonly string[];
  readonly emergency?: boolean;
  /** The caller's scopes (Cedar context `scopes`, `user_scopes`, `delegated_scopes`); see CallScopes. */
  readonly scopes?: CallScopes;
}

/** Scopes of a call: the user's (from the user's own token), the delegation's, and what both allow. */
export interface CallScopes {
  readonly user: readonly string[];
  /** The scope the delegation token carries; equal to `user` for the user's own token. */
  readonly delegated: readonly string[];
  /** user ∩ delegated: what the call may use. */
  readonly effective: readonly string[];
}

/** What a bundle's manifest (`bundle.yaml`) says about itself. */
export interface BundleInfo {
  readonly name: string;
  readonly version: number;
  readonly mode: 'enforce' | 'shadow';
  /** Activated as an emergency change (one approver): every decision it makes is flagged. */
  readonly emergency: boolean;
}

/** One rate limit of a bundle: calls that match count against a key, per minute and/or per day. */
export interface RateLimitRule {
  readonly id: string;
  /** What the count is per: the human (`user`, across every sub-agent), the tenant, the tool. */
  readonly per: readonly ('user' | 'tenant' | 'tool')[];
  /** `server/name` globs; absent: every tool. */
  readonly tools?: readonly string[];
  /** Tool classes (any of them); absent: any class. */
  readonly classes?: readonly string[];
  /** Tiers; absent: every tier. */
  readonly tiers?: readonly string[];
  readonly perMinute?: number;
  readonly perDay?: number;
}

/** One counter a call takes a unit of: its key (limit, subject and window) and the limit. */
export interface RateKey {
  readonly key: string;
  /** Milliseconds since epoch at which this window ends (counters past it can be dropped). */
  readonly expiresAt: number;
  readonly limit: number;
}

/** Shared counters (the store): every key gets one more unit, or none does. */
export interface RateCounter {
  /** Atomically: when every key is under its limit, count one on each and return null; else the first key at its limit (nothing counted). */
  take(keys: readonly RateKey[]): Promise<RateKey | null>;
  close(): Promise<void>;
}

/** Path patterns (globs, matched against normalised paths) that put a data class on a call. */
export interface ClassificationRule {
  readonly dataClass: string;
  readonly paths: readonly string[];
}

/** Where a call names a tenant: argument keys, and path globs with a `{tenant}` segment. */
export interface TenancyRules {
  readonly arguments: readonly string[];
  readonly paths: readonly string[];
}

/** One loaded, hashed, parsed policy bundle. Immutable: a new bundle is a new ActivePolicy. */
export interface ActivePolicy {
  readonly bundleHash: string;
  /** Never throws: an evaluation error is a deny with reason ERR_POLICY_EVALUATION_FAILED. */
  decide(input: DecisionInput): Decision;
  classifyTool(tool: ToolRef): ToolClassification;
  readonly classificationRules: readonly ClassificationRule[];
  readonly tenancyRules?: TenancyRules;
  /** The bundle's redaction section, when it has one. */
  readonly redaction?: RedactionPolicy;
  /** The bundle's egress allow-list (`egress:` in catalog.yaml); absent: every destination is denied. */
  readonly egress?: EgressRules;
  /** The bundle's manifest (name, version, mode), when it has one. */
  readonly info?: BundleInfo;
  /** Scopes the catalog requires for a tool (empty: none). */
  requiredScopes?(tool: ToolRef): readonly string[];
  /** The bundle's rate limits. */
  readonly rateLimits?: readonly RateLimitRule[];
  /** `server/name` of the tools the catalog declares `failOpen` (the SDK's audited fail-open); absent: none. */
  readonly failOpenTools?: readonly string[];
  /** How to read a write's target before it runs (the catalog's `before`), when the catalog says. */
  beforeStateOf?(tool: ToolRef): BeforeStateSpec | undefined;
}

/** Gives the policy in force now (bundles can be swapped at run time). */
export interface PolicySource {
  current(): ActivePolicy;
  /** A bundle in shadow mode, evaluated beside the enforced one: its disagreements are recorded, never enforced. */
  shadow?(): ActivePolicy | undefined;
}

export interface RedactOptions {
  /** Data classes of the call (e.g. secret_file makes every KEY=value a secret). */
  readonly dataClasses?: readonly string[];
  /** The bundle's redaction policy and what it is applied to (tool, tier, destination). */
  readonly policy?: RedactionPolicy;
  readonly tool?: ToolRef;
  readonly tier?: string;
  readonly destination?: RedactionDestination;
  /** Makes the marker of a detected value (default `[redacted:TYPE]`): reversible pseudonyms `[redacted:TYPE#ID]` on the model leg. */
  readonly pseudonym?: (type: string, original: string) => string;
}

export interface Protector {
  /** Data classes a call's arguments touch (file paths, URIs) under the bundle's rules and the built-in ones. */
  classify(call: Pick<ToolCall, 'tool' | 'arguments' | 'kind'>, rules: readonly ClassificationRule[]): string[];
  /** Tenants a call's arguments name under the bundle's tenancy rules. */
  extractTenants?(call: Pick<ToolCall, 'tool' | 'arguments' | 'kind'>, rules: TenancyRules): string[];
  /** Redacts every string inside a JSON value; never mutates its input. */
  redact<T>(value: T, options?: RedactOptions): Redaction<T>;
}

/**
 * How far an append has got when it resolves. `durable` (the default): the row is on disk
 * (fsync). `written`: the row is committed to the trail, chained and readable, and survives a
 * crash of Custos, not yet of the machine; the store makes it durable right after without being
 * awaited, and once such a sync fails it refuses every later append. A store may treat
 * `written` as `durable` (PostgreSQL does). The pipeline asks `written` for result rows only.
 */
export type AppendDurability = 'durable' | 'written';

export interface AppendOptions {
  readonly durability?: AppendDurability;
}

export interface AuditStore {
  /** Appends (durably unless `options.durability` is `written`) and returns the chained record. */
  append(entry: AuditEntry, options?: AppendOptions): Promise<AuditRecord>;
  /** Records in seq order, from `fromSeq` (inclusive, default 1). */
  read(options?: { fromSeq?: number; limit?: number }): AsyncIterable<AuditRecord>;
  close(): Promise<void>;
}

/** Injected time and randomness keep the pipeline deterministic under test. */
export interface Clock {
  now(): Date;
}

export interface IdSource {
  newId(): string;
}

export type { CallKind };

/**
 * Session state of a verified principal: revocation and automatic logoff. The front door
 * calls `check` right after verifying the credential (it throws ERR_IDENTITY_SESSION_REVOKED
 * or ERR_IDENTITY_SESSION_IDLE) and `touch` once the request is admitted.
 */
export interface SessionGuard {
  check(principal: Principal, tier: Tier): Promise<void>;
  touch(principal: Principal, tier: Tier): Promise<void>;
}

/** The fields of an OAuth token request (application/x-www-form-urlencoded), as strings. */
export type TokenRequestForm = Readonly<Record<string, string>>;

/** What a user asks for when they consent to a standing background grant. */
export interface BackgroundGrantRequest {
  /** The runner's client id: the `client_id`/`azp` (else `sub`) of its own workload token. */
  readonly clientId: string;
  /** Must narrow the user's own scope; default: the user's scope. */
  readonly scope?: readonly string[];
  /** Default and maximum come from the configuration. */
  readonly ttlSec?: number;
}

export interface BackgroundGrant {
  readonly grantId: string;
  /** A Custos-signed token naming the grant; the runner presents it as subject_token. */
  readonly grantToken: string;
  readonly clientId: string;
  readonly scope?: readonly string[];
  /** Seconds since epoch. */
  readonly expiresAt: number;
}

export interface ExchangeContext {
  readonly traceId?: string;
  /**
   * The caller records refusals itself, in aggregate (a rate-limited source at the token
   * endpoint): a refusal is thrown without its own deny row. Issued tokens are always recorded.
   */
  readonly quiet?: boolean;
}

/**
 * Custos as the authorization server of its own delegation tokens (RFC 8693). Refusals are
 * CustosErrors (ERR_IDENTITY_DELEGATION_INVALID) whose detail names the OAuth error
 * (`oauth_error`) and a stable `reason`; they are audited before they are thrown.
 */
export interface TokenExchanger {
  /** Answers a token request: the RFC 8693 response body (access_token, issued_token_type, …). */
  exchange(form: TokenRequestForm, context?: ExchangeContext): Promise<Readonly<Record<string, unknown>>>;
  /** Records a standing background grant for an interactive principal. */
  createBackgroundGrant(principal: Principal, request: BackgroundGrantRequest): Promise<BackgroundGrant>;
  /** Revokes one of the principal's own background grants; false when they hold none by that id. */
  revokeBackgroundGrant(principal: Principal, grantId: string): Promise<boolean>;
  /** The public signing keys of Custos-issued tokens (a JWK Set). */
  jwks(): { readonly keys: readonly Readonly<Record<string, unknown>>[] };
  /** RFC 8414 authorization server metadata of the token endpoint. */
  metadata(): Readonly<Record<string, unknown>>;
}

/** Operational log lines (not the audit trail): the shape pino and the console share. */
export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

/**
 * The outbound side: MCP clients to each configured upstream server. src/upstream
 * implements it, src/app wires it, the gateway sees only this port. The shapes are MCP's
 * own (tools, progress, log levels), written here without the SDK's types.
 */

/** One upstream as the config schema has validated it (names, exactly one of command or url, isolation). */
export interface UpstreamConfig {
  readonly name: string;
  readonly command?: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly url?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** How a `url` upstream is reached (the app's secure fetch: verified TLS, pins, the checked address); default: the global fetch. */
  readonly fetch?: (url: string | URL, init?: RequestInit) => Promise<Response>;
  /** 'session': each agent MCP session gets its own connection (stdio: its own process); default 'shared'. */
  readonly isolation?: UpstreamIsolation;
  /** With isolation 'session': most per-session connections at once (default 50); past it calls are ERR_GATEWAY_SESSION_LIMIT. */
  readonly maxSessions?: number;
  /** HTTP upstreams: carry the user's identity to the tool (a token Custos issues for this upstream's audience). */
  readonly identity?: UpstreamIdentityConfig;
}

export interface UpstreamIdentityConfig {
  /** `idp-exchange`: an RFC 8693 exchange at the user's own IdP (its `tokenExchange` client). */
  readonly mode: 'token-exchange' | 'idp-exchange' | 'assertion';
  /** The token's `aud` (default: the upstream URL). */
  readonly audience?: string;
  /** Default `authorization` (as `Bearer <token>`). */
  readonly header?: string;
}

/** Issues the token an upstream receives for a user (identity implements it with Custos' own keys). */
export interface UpstreamTokenIssuer {
  /** A token for `audience` whose subject is the user and whose actor is Custos (over the agent chain). */
  issue(user: Principal, audience: string, mode: UpstreamIdentityConfig['mode']): Promise<string>;
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
  /** What the upstream said it is at initialize (MCP `serverInfo`), once connected. */
  readonly server?: { readonly name: string; readonly version: string };
}

/** MCP's log levels, least to most severe. */
export type McpLogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error' | 'critical' | 'alert' | 'emergency';

/** An MCP progress notification's payload. */
export type McpProgress = { progress: number; total?: number; message?: string };

/** A tool as an upstream lists it (MCP's Tool: name, inputSchema and whatever else it carries). */
export type McpTool = {
  name: string;
  inputSchema: { type: 'object'; [key: string]: unknown };
  [key: string]: unknown;
};

/** Where an upstream's server-to-client requests (elicitation, sampling) go: the agent session that made the call. */
export interface ClientRelay {
  /** The agent session; a request is relayed only when a single session has calls in flight to that upstream. */
  readonly session: string;
  /** MCP elicitation/create: params and result as MCP defines them. */
  elicit(server: string, params: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>>;
  /** MCP sampling/createMessage: params and result as MCP defines them. */
  sample(server: string, params: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>>;
}

export interface UpstreamCallOptions {
  readonly signal?: AbortSignal;
  /** Progress the upstream reports for this call (its own progress token is the pool's). */
  readonly onprogress?: (progress: McpProgress) => void;
  readonly relay?: ClientRelay;
  /** A W3C traceparent sent with the request to an HTTP upstream. */
  readonly traceparent?: string;
  /** The verified user the call is for: an upstream with `identity` receives a token for this user. */
  readonly user?: Principal;
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
      readonly level: McpLogLevel;
      readonly logger?: string;
      readonly data: unknown;
      /** Set when the message came from that agent session's own connection (isolation 'session'): it goes to that session only. */
      readonly session?: string;
    };

export interface UpstreamTool {
  readonly server: string;
  readonly tool: McpTool;
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
  setLoggingLevel(level: McpLogLevel): Promise<void>;
  status(): UpstreamStatus[];
  /** Closes the per-session upstream connections of an agent session that ended (isolation 'session'). */
  releaseSession?(session: string): Promise<void>;
  /** Called after any upstream's tool list changed; returns an unsubscribe function. */
  onToolsChanged(listener: () => void): () => void;
  /** Every notification the upstreams send (list changes, resource updates, log messages) and status changes. */
  onEvent(listener: (event: UpstreamEvent) => void): () => void;
  close(): Promise<void>;
}

/** A kill switch in force, as the guard stages see it. */
export interface KillSwitchHit {
  readonly id: string;
  /** What it stops, e.g. `agent:claude-desktop`, `tool:filesystem/write_file`, `upstream:filesystem`, `user:https://idp|alice`. */
  readonly target: string;
  readonly reason: string;
}

/**
 * The monitor's say on a call before the policy (src/monitor implements it): a kill switch in
 * force, or a tool whose definition changed since it was approved. Both answers come from
 * memory (kept current from the store); an implementation never throws.
 */
export interface CallGuard {
  /** The kill switch that stops this call, if one does. */
  killSwitch(call: ToolCall): KillSwitchHit | undefined;
  /** True when the call's tool is quarantined: its description or input schema changed since it was approved. */
  quarantined(call: ToolCall): boolean;
}

/** One governed call as an observer (metrics, traces) sees it; never decides, and its errors are swallowed. */
export interface CallObservation {
  /** The trace id the call's rows carry when the call came without one. */
  readonly traceId?: string;
  /** The W3C traceparent the forward stage hands on to an HTTP upstream. */
  readonly traceparent?: string;
  /** A stage ran from `startMs` to `endMs` (performance.now() milliseconds); `failed` when it threw. */
  stage(name: string, startMs: number, endMs: number, failed?: boolean): void;
  /** The call is done (its last row written, or it failed). */
  end(decision: Decision | undefined): void;
}

/** Sees each recorded governed call stage by stage (list evaluations are not observed). */
export interface PipelineObserver {
  begin(call: ToolCall): CallObservation;
}
