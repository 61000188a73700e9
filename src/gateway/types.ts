/** Types the gateway's callers see: its dependencies; the upstream pool is a kernel port. */
import type { AuthFailureSettings } from './shared/flood-guard.js';
import type { IdentityServices } from './shared/session-types.js';
import type {
  AgentContext,
  AuditRecord,
  Clock,
  PendingAuthorizationStore,
  IdSource,
  InputLimits,
  Logger,
  ModelProviders,
  OfflineJournalPort,
  Pipeline,
  PolicySource,
  Principal,
  Protector,
  PseudonymVault,
  TokenExchanger,
  TokenVerifier,
  UpstreamPool,
} from '../kernel/index.js';

/** The outbound side is a kernel port (src/upstream implements it); re-exported for the gateway's files. */
export type {
  ClientRelay,
  Logger,
  UpstreamCallOptions,
  UpstreamConfig,
  UpstreamEvent,
  UpstreamListKind,
  UpstreamMethod,
  UpstreamPool,
  UpstreamState,
  UpstreamStatus,
  UpstreamTool,
} from '../kernel/index.js';

/** What an agent says about itself: its word, to be checked against the credential. */
export interface DeclaredAgent {
  readonly name: string;
  readonly runtime?: string;
  readonly version?: string;
  /** The HTTP client's `User-Agent` and SDK headers (shared/agent-runtime.ts). */
  readonly userAgent?: string;
  readonly sdk?: string;
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

/** The audit store's append health: failing from a failed append until one succeeds again. */
export interface AuditReadiness {
  readonly state: 'ok' | 'failing';
  /** The failed append's reason (`busy`, `disk_full`, `readonly`, `io_error`, …). */
  readonly reason?: string;
  readonly since?: string;
  readonly failedAppends?: number;
}

/** An identity provider as readiness reports it (reported only; it does not gate readiness). */
export interface IssuerStatus {
  readonly issuer: string;
}

/** One SIEM sink or anchor as readiness reports it: its lag and last error (reported only; it does not gate readiness). */
export interface SinkReadiness {
  readonly name: string;
  readonly type: string;
  readonly state: string;
  /** Rows written to the trail and not yet delivered. */
  readonly lag: number;
  readonly failures: number;
  /** `ERR_EXPORT_DELIVERY_FAILED` with the short reason (`unreachable`, `http_503`, …) while failing. */
  readonly last_error?: { readonly code: string; readonly reason: string; readonly at: string };
}

export interface ReadinessChecks {
  /** The audit store's append health, answered without waiting on the store; absent means not checked. */
  readonly audit?: () => AuditReadiness | Promise<AuditReadiness>;
  /** The session store, read once within a deadline (`reason`: `unreachable`, `timeout`); absent means not checked. */
  readonly sessions?: () => Promise<{ readonly state: 'ok' | 'failing'; readonly reason?: string }>;
  /** The configured identity providers. */
  readonly issuers?: () => readonly IssuerStatus[];
  /** The SIEM sinks and anchors. */
  readonly sinks?: () => Promise<readonly SinkReadiness[]>;
}

/** The trail's search, as `GET /v1/audit` uses it (src/audit implements it; the app wires it). */
export interface AuditSearchPort {
  /** Roles that may search (`audit.search.roles`). */
  readonly roles: readonly string[];
  search(
    query: Readonly<Record<string, string>>,
    page: { readonly afterSeq: number; readonly limit: number },
  ): Promise<{ readonly records: readonly AuditRecord[]; readonly next_after_seq?: number }>;
  disclosures(patient: string, range: { readonly from?: string; readonly to?: string }): Promise<{ readonly disclosures: readonly unknown[] }>;
}

/** Evidence packs (src/evidence, composed by src/app): what `/v1/evidence/*` serves (docs/api.md#evidence-packs). */
export interface EvidencePort {
  /** Auditor roles (`audit.search.roles`). */
  readonly roles: readonly string[];
  /** Admin roles (may also ask for the control tests). */
  readonly adminRoles: readonly string[];
  checklist(): Promise<unknown>;
  createPack(request: {
    readonly framework: string;
    readonly from?: string;
    readonly to?: string;
    readonly liveTests: boolean;
  }): Promise<{ readonly id: string; readonly manifest_sha256: string }>;
  listPacks(): Promise<readonly unknown[]>;
  /** A file the pack's manifest lists, or undefined. */
  file(pack: string, path: string): Promise<{ readonly bytes: Buffer; readonly contentType: string } | undefined>;
}

/** The monitor's admin operations (src/monitor implements them, src/app wires them); answers are JSON views. */
export interface MonitorAdminPort {
  /** Roles that may use them. */
  readonly roles: readonly string[];
  /** Roles that may also read alerts, the inventory and the kill switches (the console's readers). */
  readonly readRoles?: readonly string[];
  /** Roles that may also acknowledge alerts (the console's `security`). */
  readonly ackRoles?: readonly string[];
  alerts(options: { readonly all?: boolean }): readonly unknown[];
  acknowledge(principal: Principal, seq: number, note: string): Promise<unknown>;
  inventory(): unknown;
  approveTool(principal: Principal, server: string, tool: string): Promise<unknown>;
  kills(): readonly unknown[];
  setKill(principal: Principal, target: string, reason: string): Promise<unknown>;
  liftKill(principal: Principal, id: string, reason: string): Promise<unknown>;
  /** Prometheus exposition text (`GET /metrics`); absent: no such route. */
  scrape?(): Promise<{ readonly contentType: string; readonly body: string }>;
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
  /** Where the decision API's pending authorizations live, shared by the replicas (absent: this process's memory). */
  readonly pendingStore?: PendingAuthorizationStore;
  readonly readiness?: ReadinessChecks;
  readonly limits?: GatewayLimits;
  /** Sessions (revocation, idle logoff), back-channel logout and break-glass; absent: none of them. */
  readonly identity?: IdentityServices;
  /** Classifies and redacts what is not a pipeline call (resource listings, log and progress messages); without it those are withheld. */
  readonly protector?: Protector;
  /** The model providers of the `/llm/` proxy (the outbound side); absent: the proxy is off. */
  readonly models?: ModelProviders;
  /** Reversible pseudonyms restored in model answers for the same user; absent: markers stay. */
  readonly pseudonyms?: PseudonymVault;
  /** Custos' token endpoint (RFC 8693 delegation) and background grants; absent: those routes are off. */
  readonly tokens?: TokenExchanger;
  /** Audited fail-open: the SDK's signed metadata and offline journal delivery (/v1/failopen/*); absent: those routes are off. */
  readonly journal?: OfflineJournalPort;
  /**
   * Proxies (CIDRs or addresses) whose X-Forwarded-For is believed: behind them a request's
   * source is the right-most untrusted X-Forwarded-For address; otherwise the socket peer.
   */
  readonly trustedProxies?: readonly string[];
  /** Search of the trail for auditors (`GET /v1/audit`); absent: the route is off. */
  readonly auditSearch?: AuditSearchPort;
  /** Alerts, inventory, kill switches and /metrics; absent: those routes are off. */
  readonly monitor?: MonitorAdminPort;
  readonly evidence?: EvidencePort;
  /** The web console at /console and its read APIs; absent: those routes are off. */
  readonly console?: ConsolePort;
}

/** The web console (src/app/console.ts implements it): its static files, sign-in settings and read views. */
export interface ConsolePort {
  /** Console roles from token roles; every console role may read the console's views. */
  readonly roles: { readonly admin: readonly string[]; readonly security: readonly string[]; readonly auditor: readonly string[] };
  /** The built web app (index.html and assets/). */
  readonly staticDir: string;
  /** What the browser needs to sign in (served as /console/config.json). */
  readonly client: { readonly issuer: string; readonly clientId: string; readonly scope: string; readonly resource: string };
  /** The bundle in force, the shadow one, the policy rows (authors, approvers, changes) and the shadow disagreements. */
  policy(): Promise<unknown>;
  /** Every archived (activated) bundle version: hash, name, version, mode, files. */
  policyVersions(): Promise<unknown>;
  /** The text diff, file by file, between two archived versions (bundle hashes). */
  policyDiff(from: string, to: string): Promise<unknown>;
  /** The live view's aggregates over the last `minutes`. */
  live(minutes: number): Promise<unknown>;
  /** Row `seq`'s verification: the chain up to it, the checkpoint covering it, its inclusion proof. */
  verifyRow(seq: number): Promise<unknown>;
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
