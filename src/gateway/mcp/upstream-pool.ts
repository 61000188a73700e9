/**
 * The MCP servers behind the gateway: one SDK Client per configured upstream (stdio or
 * Streamable HTTP), each with a tool cache kept fresh on notifications/tools/list_changed.
 * An upstream that fails to start is reported (status + log); its tools are absent and a
 * call to it is ERR_GATEWAY_UPSTREAM_UNAVAILABLE.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { CustosError } from '../../kernel/index.js';
import type { Logger, UpstreamConfig, UpstreamPool, UpstreamState, UpstreamStatus, UpstreamTool } from '../types.js';
import { isValidServerName } from './tool-names.js';

export interface UpstreamPoolOptions {
  readonly logger: Logger;
  /** How long connecting (initialize + first tools/list) may take (default 30 s). */
  readonly connectTimeoutMs?: number;
}

interface Upstream {
  readonly config: UpstreamConfig;
  readonly transport: 'stdio' | 'http';
  state: UpstreamState;
  client?: Client;
  tools: Tool[];
  error?: string;
  refreshing?: Promise<void>;
  refreshAgain?: boolean;
}

const MAX_TOOL_PAGES = 100;
const CLIENT_INFO = { name: 'custos-gateway', version: '0.1.0' };

/** Throws ERR_CONFIG_INVALID listing every problem with the upstream list. */
export function validateUpstreamConfigs(configs: readonly UpstreamConfig[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  configs.forEach((c, i) => {
    if (!isValidServerName(c.name)) problems.push(`upstreams[${i}].name must match /^[a-z0-9][a-z0-9-]*$/ (max 64 chars)`);
    if (seen.has(c.name)) problems.push(`upstreams[${i}].name is a duplicate`);
    seen.add(c.name);
    if ((c.command === undefined) === (c.url === undefined)) problems.push(`upstreams[${i}] needs exactly one of command or url`);
    if (c.url !== undefined && !/^https?:\/\//.test(c.url)) problems.push(`upstreams[${i}].url must be an http(s) URL`);
  });
  if (problems.length > 0) throw new CustosError('ERR_CONFIG_INVALID', 'Invalid upstream configuration.', { detail: { problems } });
}

export async function createUpstreamPool(configs: readonly UpstreamConfig[], options: UpstreamPoolOptions): Promise<UpstreamPool> {
  validateUpstreamConfigs(configs);
  const { logger } = options;
  const timeout = options.connectTimeoutMs ?? 30_000;
  const upstreams = new Map<string, Upstream>(
    configs.map((config) => [config.name, { config, transport: config.url ? 'http' : 'stdio', state: 'connecting', tools: [] }]),
  );
  const listeners = new Set<() => void>();
  let closing = false;

  function notifyChanged(): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        logger.warn({ err }, 'tools-changed listener failed');
      }
    }
  }

  function createTransport(u: Upstream): Transport {
    const c = u.config;
    if (c.url) return new StreamableHTTPClientTransport(new URL(c.url), { requestInit: { headers: { ...c.headers } } });
    const transport = new StdioClientTransport({
      command: c.command as string,
      args: c.args ? [...c.args] : [],
      cwd: c.cwd,
      env: c.env ? { ...c.env } : undefined,
      stderr: 'pipe',
    });
    const stderr = transport.stderr;
    if (stderr) {
      createInterface({ input: stderr as Readable }).on('line', (line) => logger.info({ upstream: c.name, stderr: line.slice(0, 500) }, 'upstream stderr'));
    }
    return transport;
  }

  async function fetchTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const result = await client.listTools(cursor ? { cursor } : undefined, { timeout });
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return tools;
  }

  /** Refreshes one upstream's cache; concurrent requests collapse into one more round. */
  function refreshTools(u: Upstream): Promise<void> {
    if (u.refreshing) {
      u.refreshAgain = true;
      return u.refreshing;
    }
    u.refreshing = (async () => {
      do {
        u.refreshAgain = false;
        const client = u.client;
        if (!client) return;
        try {
          u.tools = await fetchTools(client);
        } catch (err) {
          logger.warn({ upstream: u.config.name, err: errorName(err) }, 'upstream tools/list failed; keeping the previous tool list');
        }
      } while (u.refreshAgain);
    })().finally(() => {
      u.refreshing = undefined;
    });
    return u.refreshing;
  }

  function markFailed(u: Upstream, code: string): void {
    u.state = 'failed';
    u.error = code;
    u.tools = [];
    u.client = undefined;
    notifyChanged();
    // Seam for restart-with-backoff (a later issue): schedule reconnecting `u` here.
  }

  async function connectUpstream(u: Upstream): Promise<void> {
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      await refreshTools(u);
      notifyChanged();
    });
    client.onclose = () => {
      if (closing || u.client !== client) return;
      logger.error({ upstream: u.config.name }, 'upstream connection closed');
      markFailed(u, 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    };
    try {
      await client.connect(createTransport(u), { timeout });
      u.client = client;
      await refreshTools(u);
      u.state = 'ready';
      u.error = undefined;
      logger.info({ upstream: u.config.name, tools: u.tools.length }, 'upstream ready');
    } catch (err) {
      u.client = undefined;
      logger.error({ upstream: u.config.name, err: err instanceof Error ? err.message : String(err) }, 'upstream failed to start');
      markFailed(u, 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
      await client.close().catch(() => undefined);
    }
  }

  async function callTool(server: string, name: string, args: Record<string, unknown> | undefined, opts?: { signal?: AbortSignal }): Promise<unknown> {
    const u = upstreams.get(server);
    const client = u?.client;
    if (!u || u.state !== 'ready' || !client) throw new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE');
    try {
      return await client.callTool({ name, arguments: args }, undefined, { signal: opts?.signal });
    } catch (err) {
      const code = u.state === 'ready' ? 'ERR_GATEWAY_UPSTREAM_FAILED' : 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE';
      // The upstream's message may quote arguments or file contents: log only its kind.
      logger.warn({ upstream: server, tool: name, err: errorName(err) }, 'upstream call failed');
      throw new CustosError(code, undefined, { cause: err });
    }
  }

  await Promise.all([...upstreams.values()].map(connectUpstream));

  return {
    listTools: (): UpstreamTool[] =>
      [...upstreams.values()].filter((u) => u.state === 'ready').flatMap((u) => u.tools.map((tool) => ({ server: u.config.name, tool }))),
    has: (server) => upstreams.has(server),
    callTool,
    status: (): UpstreamStatus[] =>
      [...upstreams.values()].map((u) => ({
        name: u.config.name,
        transport: u.transport,
        state: u.state,
        tools: u.tools.length,
        ...(u.error ? { error: u.error } : {}),
      })),
    onToolsChanged(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closing = true;
      const clients = [...upstreams.values()].map((u) => {
        u.state = 'closed';
        const c = u.client;
        u.client = undefined;
        return c?.close();
      });
      await Promise.allSettled(clients);
    },
  };
}

/** A loggable description of an error that carries no message text (it may hold payloads). */
function errorName(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    const name = (err as { name?: unknown }).name;
    return [typeof name === 'string' ? name : 'Error', code === undefined ? '' : String(code)].filter(Boolean).join(':');
  }
  return typeof err;
}
