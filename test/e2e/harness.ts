/**
 * The one end-to-end harness: a real dev OIDC provider, real Custos (the composition root
 * in src/app), and the real @modelcontextprotocol/server-filesystem behind it over stdio,
 * on free loopback ports, with a transparent tap recording what reached the upstream.
 * Every end-to-end test and benchmark starts from here.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLogger, startCustos } from '../../src/app/index.js';
import { createAuditStore } from '../../src/audit/index.js';
import type { CustosInstance } from '../../src/app/index.js';
import type { AuditStoreAdmin as AuditStore } from '../../src/audit/index.js';
import { resolveConfig } from '../../src/config/index.js';
import type { CustosConfigInput } from '../../src/config/index.js';
import { fetchDevClientToken, fetchDevToken, startDevIdentityProvider } from '../../src/identity/dev-idp/index.js';
import type { DevIdentityProvider } from '../../src/identity/dev-idp/index.js';
import type { AuditRecord, Clock } from '../../src/kernel/index.js';
import { startHaproxy } from './balancer.js';
import type { Balancer } from './balancer.js';

/** The dev provider's demo users and client, for tests (the harness is the one test importer of the dev provider). */
export { DEMO_AGENT_CLIENTS, DEMO_USERS, DEV_CLIENT_ID, fetchDevToken, signInDevUser, startDevIdentityProvider } from '../../src/identity/dev-idp/index.js';

/** The repository root, from the sources or from their compiled copy in dist-bench/. */
function findRepoRoot(from: string): string {
  let dir = from;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
}

export const repoRoot = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));
/** The filesystem MCP server's entry point (the default upstream, and the benchmarks' baseline). */
export const serverFilesystem = path.join(repoRoot, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const tapScript = path.join(repoRoot, 'test/e2e/fixtures/stdio-tap.mjs');
/** A stdio MCP server with a `fetch` tool (the egress tests' fetch-style tool). */
export const fetchServer = path.join(repoRoot, 'test/e2e/fixtures/fetch-server.mjs');

/** The tap between Custos and a stdio upstream (`command` and `args` of the upstream entry), recording into `log`. */
export function tapped(log: string, command: string, args: readonly string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: [tapScript, log, '--', command, ...args] };
}

/**
 * A copy of the quick-start bundle in `dir` with a test's own catalog entries (`tools`, lines
 * under `tools:`, e.g. `  web/fetch: { classes: [egress], urls: [url] }`), top-level catalog
 * `sections` (e.g. `egress:`), and each of `policies` as its own policy file.
 */
export function extendQuickstartBundle(dir: string, extra: { tools?: string; sections?: string; policies?: Record<string, string> }): string {
  cpSync(path.join(repoRoot, 'examples/quickstart/policy'), dir, { recursive: true });
  const catalog = readFileSync(path.join(dir, 'catalog.yaml'), 'utf8').replace(/^tools:\n/m, `tools:\n${extra.tools ?? ''}\n`);
  writeFileSync(path.join(dir, 'catalog.yaml'), `${catalog}\n${extra.sections ?? ''}\n`);
  for (const [name, text] of Object.entries(extra.policies ?? {})) writeFileSync(path.join(dir, 'policies', name), text);
  return dir;
}

export interface HarnessOptions {
  /** Access-token lifetime at the dev provider (default: its own). */
  readonly accessTokenTtlSec?: number;
  /** Clock skew Custos tolerates (default 60 s, the product default). */
  readonly clockSkewSec?: number;
  readonly busyTimeoutMs?: number;
  /** Policy bundle directory (default: the quick start's). */
  readonly bundleDir?: string;
  /** Put the recording tap between Custos and the upstream (default true; benchmarks turn it off). */
  readonly tap?: boolean;
  /** Replace the default upstream (the filesystem server on the workspace copy). */
  readonly upstreams?: CustosConfigInput['upstreams'];
  /** Last say over the config before Custos starts (add sections, change issuers…). */
  readonly configure?: (raw: CustosConfigInput, context: { dir: string; issuer: string; audience: string }) => CustosConfigInput;
  /** Run Custos as its own process (`custos serve`, needs `npm run build`), as in production; default in-process. */
  readonly outOfProcess?: boolean;
  /** Extra Node.js flags for that `custos serve` process (e.g. `--cpu-prof` to profile it). */
  readonly nodeArgs?: readonly string[];
  /** The built checkout whose `bin/custos.js` that process runs (default this one; a benchmark compares two builds). */
  readonly custosRoot?: string;
  /** Have the dev provider send OIDC back-channel logout tokens to Custos (and Custos accept them). */
  readonly backchannelLogout?: boolean;
  /** In-process only: wraps the audit store Custos opens (to inject faults behind the store port). */
  readonly decorateAuditStore?: (store: AuditStore) => AuditStore;
  /** In-process only: the session guard's clock (idle logoff); a test moves it instead of waiting (`offsetClock`). */
  readonly sessionClock?: Clock;
  /**
   * Run this many `custos serve` replicas (out of process; needs `npm run build`) behind HAProxy on
   * the public port (round-robin, no affinity). They must share a store: set `audit.store` to a
   * PostgreSQL URL in `configure` (test/e2e/postgres.ts). `custos` is the first replica.
   */
  readonly replicas?: number;
  /** Users the dev provider knows (default: alice and bob). */
  readonly users?: Parameters<typeof startDevIdentityProvider>[0]['users'];
  /** The dev provider's agent clients (default DEMO_AGENT_CLIENTS with generated secrets). */
  readonly agentClients?: Parameters<typeof startDevIdentityProvider>[0]['agentClients'];
  /** CAs the dev provider trusts when it fetches client ID metadata documents over https. */
  readonly clientMetadataCa?: string;
}

export interface TapEntry {
  readonly method: string;
  readonly name?: string;
  readonly arguments?: Record<string, unknown>;
}

export interface Harness {
  readonly custos: HarnessCustos;
  /** The config Custos was started with (as input, before resolution). */
  readonly config: CustosConfigInput;
  readonly issuer: string;
  readonly mcpUrl: string;
  readonly workspace: string;
  readonly dir: string;
  readonly storeFile: string;
  readonly storeUri: string;
  token(user: string): Promise<string>;
  /** The dev provider (e.g. to send a back-channel logout). */
  readonly idp: DevIdentityProvider;
  /** An agent's own credential: a client-credentials JWT of a dev agent client (DEMO_AGENT_CLIENTS) for Custos. */
  agentToken(clientId: string): Promise<string>;
  /** An official MCP SDK client connected to Custos with this bearer token (and any extra headers, e.g. a declared tier). */
  connect(token: string, clientName?: string, headers?: Record<string, string>): Promise<Client>;
  /** An official MCP SDK client connected straight to a second filesystem server (the baseline). */
  connectDirect(): Promise<Client>;
  /** `tools/call` requests that reached the real upstream, in order. */
  upstreamCalls(): TapEntry[];
  auditRecords(): Promise<AuditRecord[]>;
  /** Another Custos (in-process) on the same config and store, on its own port, as a second replica behind a balancer (same public URL). */
  startReplica(): Promise<CustosInstance>;
  /** With `replicas`: every replica's process, and its own address (past the balancer), in the balancer's order. */
  readonly replicaProcesses: readonly HarnessCustos[];
  readonly replicaUrls: readonly string[];
  /** Stops Custos (the control plane goes away: its port refuses connections); the provider and the store stay. */
  stopCustos(): Promise<void>;
  /** Starts Custos again on the same port, config and store (in-process only). */
  startCustosAgain(): Promise<void>;
  close(): Promise<void>;
}

/** Custos as the harness hands it out: in-process, or a `custos serve` child (its `pid`) with its own store connection. */
export type HarnessCustos = Omit<CustosInstance, 'pipeline' | 'exportStatus' | 'policy'> & {
  readonly pid?: number;
  readonly policy?: CustosInstance['policy'];
  /** Out of process: `kill -9` (resolves once the process is gone). */
  readonly kill?: () => Promise<void>;
  /** Out of process: the last 64 KiB the process printed since it started listening (its log, at `log.level`). */
  readonly output?: () => string;
};

/** Resolves with the output so far once `pattern` appears on the child's stdout or stderr. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output:\n${out}`));
    });
  });
}

async function spawnCustos(
  raw: CustosConfigInput,
  dir: string,
  storeUri: string,
  nodeArgs: readonly string[] = [],
  root: string = repoRoot,
  name = 'custos',
): Promise<HarnessCustos> {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, JSON.stringify(raw, null, 2)); // JSON is YAML
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin/custos.js'), 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  // A loaded machine can take more than 30 s to start it (no cost when it starts fast).
  const out = await waitForOutput(child, /custos listening on (\S+) \(MCP at (\S+)\); policy bundle sha256:([0-9a-f]{64})/, 120_000).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  const [, url, mcpUrl, bundleHash] = /custos listening on (\S+) \(MCP at (\S+)\); policy bundle sha256:([0-9a-f]{64})/.exec(out)!;
  let tail = '';
  const keep = (chunk: Buffer): void => void (tail = (tail + chunk.toString('utf8')).slice(-65_536));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const store = await createAuditStore(storeUri);
  return {
    url: url!,
    mcpUrl: mcpUrl!,
    port: Number(new URL(url!).port),
    bundleHash: bundleHash!,
    store,
    pid: child.pid,
    output: () => tail,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      await store.close();
    },
  };
}

/** Polls the trail until `find` returns something (a row, a list), or throws after `ms`. */
export async function until<T>(h: Harness, find: (rows: AuditRecord[]) => T | undefined, ms = 30_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const found = find(await h.auditRecords());
    if (found !== undefined) return found;
    if (Date.now() - start > ms) throw new Error('timed out waiting for a row');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'custos-e2e-'));
  const workspace = path.join(dir, 'workspace');
  cpSync(path.join(repoRoot, 'examples/quickstart/workspace'), workspace, { recursive: true });
  const tapLog = path.join(dir, 'upstream-tap.jsonl');
  const storeFile = path.join(dir, 'audit.sqlite');
  const port = await freePort();
  const audience = `http://127.0.0.1:${port}/mcp`;
  const idp = await startDevIdentityProvider({
    host: '127.0.0.1',
    port: 0,
    audience,
    backchannelLogoutUri: options.backchannelLogout ? `http://127.0.0.1:${port}/oauth/backchannel-logout` : undefined,
    consoleRedirectUri: `http://127.0.0.1:${port}/console/`,
    accessTokenTtlSec: options.accessTokenTtlSec,
    users: options.users,
    clientMetadataCa: options.clientMetadataCa,
    agentClients: options.agentClients,
  });
  const raw: CustosConfigInput = {
    server: { host: '127.0.0.1', port },
    identity: {
      issuers: [
        { issuer: idp.issuer, audience, algorithms: ['ES256', 'RS256'], clockSkewSec: options.clockSkewSec, claims: { roles: 'roles', tenant: 'tenant' } },
      ],
    },
    upstreams: options.upstreams ?? [
      {
        name: 'filesystem',
        command: process.execPath,
        args: options.tap === false ? [serverFilesystem, workspace] : [tapScript, tapLog, '--', process.execPath, serverFilesystem, workspace],
        roots: [workspace],
      },
    ],
    policy: { bundle: options.bundleDir ?? path.join(repoRoot, 'examples/quickstart/policy') },
    audit: { store: `sqlite:${storeFile}`, busyTimeoutMs: options.busyTimeoutMs },
    log: { level: 'silent' },
    // The monitor's rule alerts are rows of their own: off here (thresholds out of reach) so tests
    // that count rows see only theirs; test/e2e/monitor.e2e.test.ts and src/monitor test the rules.
    monitor: { rules: { firstUse: false, denySpike: { minDenies: 1e9 }, redactionsPerWindow: 1e9, authFailuresPerWindow: 1e9 } },
  };
  const finalRaw = options.configure ? options.configure(raw, { dir, issuer: idp.issuer, audience }) : raw;
  let custos: HarnessCustos;
  const config = (() => {
    try {
      return resolveConfig(finalRaw, { source: 'harness', baseDir: dir });
    } catch (err) {
      void idp.close();
      throw err;
    }
  })();
  const startInProcess = () =>
    startCustos(config, { logger: createLogger('silent'), decorateAuditStore: options.decorateAuditStore, sessionClock: options.sessionClock });
  let running = true;
  const processes: HarnessCustos[] = [];
  const ports: number[] = [];
  let balancer: Balancer | undefined;
  try {
    if (options.replicas) {
      // One after the other: each creates the store's tables at start.
      for (let i = 0; i < options.replicas; i++) {
        ports.push(await freePort());
        const own = { ...finalRaw, server: { ...finalRaw.server, port: ports[i], publicUrl: `http://127.0.0.1:${port}` } };
        processes.push(await spawnCustos(own, dir, config.audit.store, options.nodeArgs, options.custosRoot, `custos-${i}`));
      }
      balancer = await startHaproxy(port, ports, dir);
      custos = processes[0]!;
    } else custos = options.outOfProcess ? await spawnCustos(finalRaw, dir, config.audit.store, options.nodeArgs, options.custosRoot) : await startInProcess();
  } catch (err) {
    await Promise.allSettled(processes.map((p) => p.close()));
    await idp.close();
    throw err;
  }
  const clients: Client[] = [];
  const replicas: CustosInstance[] = [];
  const track = async (client: Client, transport: Parameters<Client['connect']>[0]): Promise<Client> => {
    await client.connect(transport);
    clients.push(client);
    return client;
  };
  return {
    get custos() {
      return custos;
    },
    config: finalRaw,
    issuer: idp.issuer,
    mcpUrl: custos.mcpUrl,
    workspace,
    dir,
    storeFile,
    storeUri: `sqlite:${storeFile}`,
    token: (user) => fetchDevToken(idp.issuer, user),
    idp,
    agentToken: (clientId) => fetchDevClientToken(idp.issuer, clientId, idp.agentClients.get(clientId) ?? '', { resource: audience }),
    connect: (token, clientName = 'custos-e2e', headers = {}) =>
      track(
        new Client({ name: clientName, version: '1.0.0' }),
        new StreamableHTTPClientTransport(new URL(custos.mcpUrl), { requestInit: { headers: { ...headers, Authorization: `Bearer ${token}` } } }),
      ),
    connectDirect: () =>
      track(
        new Client({ name: 'custos-e2e-direct', version: '1.0.0' }),
        new StdioClientTransport({ command: process.execPath, args: [serverFilesystem, workspace], stderr: 'ignore' }),
      ),
    upstreamCalls: () =>
      existsSync(tapLog)
        ? readFileSync(tapLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as TapEntry)
            .filter((e) => e.method === 'tools/call')
        : [],
    auditRecords: async () => {
      const out: AuditRecord[] = [];
      for await (const r of custos.store.read()) out.push(r);
      return out;
    },
    startReplica: async () => {
      const replicaRaw = { ...finalRaw, server: { ...finalRaw.server, port: 0, publicUrl: custos.url } };
      const replica = await startCustos(resolveConfig(replicaRaw, { source: 'harness-replica', baseDir: dir }), { logger: createLogger('silent') });
      replicas.push(replica);
      return replica;
    },
    replicaProcesses: processes,
    replicaUrls: ports.map((p) => `http://127.0.0.1:${p}`),
    stopCustos: async () => {
      running = false;
      await custos.close();
    },
    startCustosAgain: async () => {
      if (options.outOfProcess) throw new Error('startCustosAgain: in-process harness only');
      custos = await startInProcess();
      running = true;
    },
    close: async () => {
      await Promise.allSettled(clients.map((c) => c.close()));
      await Promise.allSettled(replicas.map((r) => r.close()));
      await balancer?.close();
      if (processes.length > 0) await Promise.allSettled(processes.map((p) => p.close()));
      else if (running) await custos.close();
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
