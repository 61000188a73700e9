/**
 * What one MCP session's handler groups share (the tool handlers in session-server.ts,
 * resources, prompts, the client relay): the session's dependencies, its state and the kit of
 * operations over them. A types file of its own, so the handler groups and the session server
 * do not import each other.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolRequest, CallToolResult, LoggingLevel, RequestId, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Authorization, DenyReason, Forward, IdSource, Pipeline, PolicyAction, PolicySource, Protector, RunResult } from '../../kernel/index.js';
import { toJsonRpcError } from '../errors.js';
import type { IdentityServices } from '../shared/session-types.js';
import type { DeriveAgent, DerivedAgent, Logger, UpstreamPool } from '../types.js';
import type { GovernedAction } from './governed-call.js';
import type { RequestContext } from './request-context.js';

export interface SessionServerDeps {
  readonly pipeline: Pipeline;
  readonly policy: PolicySource;
  readonly upstreams: UpstreamPool;
  readonly deriveAgent: DeriveAgent;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly protector?: Protector;
  /** Sessions and break-glass (the emergency grant lookup of each governed call). */
  readonly identity?: IdentityServices;
  /** How long a confirmation prompt waits for the user's answer (default 2 minutes). */
  readonly confirmationTimeoutMs?: number;
  /** Where a prompt waiting for its answer is listed (the console's pending confirmations). */
  readonly prompts?: { hold(auth: Authorization, channel: string, timeoutMs: number): () => void };
}

/** Per-session state the hub reads to fan out upstream notifications. */
export interface SessionState {
  readonly id: string;
  readonly subscriptions: Set<string>;
  logLevel?: LoggingLevel;
  /** The context of the session's latest request (the user never changes within a session). */
  ctx?: RequestContext;
  /** Called when the session subscribes or unsubscribes (the hub keeps upstream subscriptions counted). */
  onSubscribe?: (uri: string, subscribed: boolean) => Promise<void>;
  /** Called after the session set its log level (the hub asks the upstreams for the most verbose level any session wants). */
  onLogLevel?: () => Promise<void>;
}

/** What the handler groups of one session share. */
export interface SessionKit {
  readonly server: Server;
  readonly deps: SessionServerDeps;
  readonly state: SessionState;
  context(extra: { authInfo?: { extra?: Record<string, unknown> } }): RequestContext;
  derive(ctx: RequestContext): DerivedAgent;
  /**
   * Runs the pipeline; a `confirm` decision is put to the user (on the stream of `related`, the
   * agent's request, when given). `quiet`: the forward sends nothing to the agent before it
   * returns, so a read-only call may be forwarded while its intent row is being written.
   */
  govern(
    ctx: RequestContext,
    action: GovernedAction,
    forward: Forward,
    signal?: AbortSignal,
    related?: RequestId,
    deny?: readonly DenyReason[],
    quiet?: boolean,
  ): Promise<RunResult>;
  /**
   * A list decision: would this user be let through with this item? The pipeline's decision
   * stages (tier, break-glass, bounds, classification, tenancy, policy) without a row, so what is
   * listed is what may be called. Errors hide it (fail closed).
   */
  visible(ctx: RequestContext, item: GovernedAction, action?: PolicyAction): Promise<boolean>;
  /** Redacts a value that is not a pipeline call (progress and log messages); undefined when it cannot. */
  redact<T>(value: T): T | undefined;
  /** Wraps a handler: errors become JSON-RPC errors from the one table. */
  handle<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R>;
}

/**
 * The `tools/call` handler of a session: what the SDK Server runs for a request it parsed, and
 * what the plain JSON path (plain-json.ts) runs directly for a request of the same shape. It
 * reads only these fields of the SDK's handler `extra`.
 */
export type ToolCallHandler = (
  request: CallToolRequest,
  extra: Pick<RequestHandlerExtra<ServerRequest, ServerNotification>, 'signal' | 'authInfo' | '_meta' | 'requestId' | 'sendNotification'>,
) => Promise<CallToolResult>;

/** A JSON-RPC error from the one error table; internal causes are logged, never sent. */
export function toMcpError(err: unknown, logger: Logger): McpError {
  if (err instanceof McpError) return err;
  const rpc = toJsonRpcError(err);
  if (rpc.data.code === 'ERR_INTERNAL') logger.error({ err: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }, 'MCP request failed');
  return new McpError(rpc.code, rpc.message, rpc.data);
}
