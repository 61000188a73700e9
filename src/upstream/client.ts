/**
 * One MCP client connection to one upstream: the transport (stdio or Streamable HTTP, with
 * its own headers), the capabilities Custos offers upstream (elicitation and sampling, which
 * it relays to the agent's client), and the handlers that turn what the upstream sends into
 * pool callbacks. Upstream stderr is logged line by line, truncated. A stdio upstream runs
 * under the watchdog (watchdog.ts), so it dies with Custos, over Custos' own stdio transport
 * (stdio-transport.ts; the SDK's on Windows).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { CreateMessageRequest, CreateMessageResult, ElicitRequest, ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { Logger, UpstreamConfig, UpstreamEvent, UpstreamTokenIssuer } from '../kernel/index.js';
import { createIdentityFetch } from './user-identity.js';
import { StdioUpstreamTransport } from './stdio-transport.js';
import { watchedCommand } from './watchdog.js';

export const CLIENT_INFO = { name: 'custos-gateway', version: '0.1.0' };

/** What Custos offers every upstream: it relays these to the agent's client when the agent supports them. */
export const UPSTREAM_CAPABILITIES = { elicitation: { form: {}, url: {} }, sampling: {} };

export interface UpstreamClientHandlers {
  readonly onEvent: (event: UpstreamEvent) => void;
  readonly onToolsChanged: () => Promise<void>;
  /** The agent's answer, as MCP's ElicitResult. */
  readonly elicit: (params: ElicitRequest['params'], signal: AbortSignal) => Promise<Record<string, unknown>>;
  /** The agent's answer, as MCP's CreateMessageResult. */
  readonly sample: (params: CreateMessageRequest['params'], signal: AbortSignal) => Promise<Record<string, unknown>>;
}

/** The W3C traceparent of the request being sent, for HTTP upstreams (set by sendUpstreamRequest). */
export const outboundTrace = new AsyncLocalStorage<string>();

/** `base`, with the current call's `traceparent` header when there is one. */
function tracedFetch(base: FetchLike): FetchLike {
  return (input, init) => {
    const traceparent = outboundTrace.getStore();
    if (!traceparent) return base(input, init);
    const headers = new Headers(init?.headers);
    headers.set('traceparent', traceparent);
    return base(input, { ...init, headers });
  };
}

export function createUpstreamTransport(config: UpstreamConfig, logger: Logger, tokens?: UpstreamTokenIssuer): Transport {
  if (config.url) {
    if (config.identity && !tokens) throw new Error(`upstream ${config.name}: identity is configured but no token issuer was wired`);
    const base = config.fetch ?? fetch;
    const withIdentity = config.identity && tokens ? createIdentityFetch(config, tokens, base) : base;
    return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: { ...config.headers } }, fetch: tracedFetch(withIdentity) });
  }
  const command = config.command as string;
  const args = config.args ? [...config.args] : [];
  const watched = watchedCommand(command, args);
  if (!watched && process.platform !== 'win32')
    logger.warn({ upstream: config.name }, 'upstream watchdog script not found; the upstream will not die with Custos if Custos is killed');
  const onStderrLine = (line: string): void => logger.info({ upstream: config.name, stderr: line.slice(0, 500) }, 'upstream stderr');
  const spawnAs = { command: watched?.command ?? command, args: watched?.args ?? args, cwd: config.cwd, env: config.env ? { ...config.env } : undefined };
  if (process.platform !== 'win32') return new StdioUpstreamTransport({ ...spawnAs, onStderrLine });
  // Windows: the SDK's transport, whose cross-spawn resolves `.cmd` shims such as npx.
  const transport = new StdioClientTransport({ ...spawnAs, stderr: 'pipe' });
  if (transport.stderr) createInterface({ input: transport.stderr as Readable }).on('line', onStderrLine);
  return transport;
}

/** A Client whose notifications and server-to-client requests go to `handlers`. */
export function createUpstreamClient(server: string, handlers: UpstreamClientHandlers): Client {
  const client = new Client(CLIENT_INFO, { capabilities: UPSTREAM_CAPABILITIES });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => handlers.onToolsChanged());
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => handlers.onEvent({ type: 'resources_changed', server }));
  client.setNotificationHandler(PromptListChangedNotificationSchema, () => handlers.onEvent({ type: 'prompts_changed', server }));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => handlers.onEvent({ type: 'resource_updated', server, uri: n.params.uri }));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) =>
    handlers.onEvent({ type: 'log', server, level: n.params.level, logger: n.params.logger, data: n.params.data }),
  );
  client.setRequestHandler(ElicitRequestSchema, (request, extra) => handlers.elicit(request.params, extra.signal) as Promise<ElicitResult>);
  client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => handlers.sample(request.params, extra.signal) as Promise<CreateMessageResult>);
  return client;
}

export interface ConnectOptions {
  readonly logger: Logger;
  /** How long initialize may take. */
  readonly timeoutMs: number;
  /** Issues the user's token for upstreams with `identity`. */
  readonly tokens?: UpstreamTokenIssuer;
}

/**
 * The one connect sequence of every upstream connection (shared or per session): the
 * transport, initialize within the timeout, responses delivered after notifications. On
 * failure the client is closed (its child process ended) and the error rethrown.
 */
export async function connectUpstreamClient(client: Client, config: UpstreamConfig, options: ConnectOptions): Promise<void> {
  try {
    const transport = createUpstreamTransport(config, options.logger, options.tokens);
    await client.connect(transport, { timeout: options.timeoutMs });
    deliverResponsesAfterNotifications(transport);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The SDK handles a notification a microtask after it arrives but a response at once, and
 * drops a request's progress handler with its response: a last progress notification read
 * in the same chunk as the response would be lost. Delivering responses one macrotask late
 * (in order) lets the progress handlers run first. Call after `client.connect(transport)`.
 */
export function deliverResponsesAfterNotifications(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  transport.onmessage = (message, extra) => {
    if ('id' in message && ('result' in message || 'error' in message)) setImmediate(() => deliver(message, extra));
    else deliver(message, extra);
  };
}
