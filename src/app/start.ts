/**
 * The composition root: the only place that picks adapters and wires them into the
 * pipeline and the front doors. Start-up fails fast and closed: no bundle, no store or
 * no issuer means no server.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuditStore } from '../audit/index.js';
import type { AuditStoreAdmin } from '../audit/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { createGateway, createUpstreamPool } from '../gateway/index.js';
import { createTokenVerifier, deriveAgentContext } from '../identity/index.js';
import { AUDIT_SCHEMA, createPipeline } from '../kernel/index.js';
import type { Pipeline } from '../kernel/index.js';
import { createPolicySource, loadBundle } from '../policy/index.js';
import { createProtector } from '../protect/index.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';

export interface CustosInstance {
  readonly url: string;
  readonly mcpUrl: string;
  readonly port: number;
  readonly bundleHash: string;
  readonly store: AuditStoreAdmin;
  readonly pipeline: Pipeline;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
}

const SYSTEM_USER = { sub: 'custos:system', iss: 'custos' } as const;

export async function startCustos(config: ResolvedConfig, options: StartOptions = {}): Promise<CustosInstance> {
  const logger = options.logger ?? createLogger(config.log.level);
  const bundle = await loadBundle(config.policy.bundle);
  const policy = createPolicySource(bundle.policy);
  const store = await createAuditStore(config.audit.store, { busyTimeoutMs: config.audit.busyTimeoutMs });
  const cleanups: Array<() => Promise<void> | void> = [() => store.close()];
  try {
    await store.append({
      schema: AUDIT_SCHEMA,
      event: 'admin',
      time: new Date().toISOString(),
      request_id: randomUUID(),
      user: SYSTEM_USER,
      policy: { decision: 'allow', bundle_hash: bundle.bundleHash, determining_policies: [], reasons: ['policy_activated'] },
      redactions: { count: 0, types: [] },
      detail: { action: 'policy_activated', bundle_dir: config.policy.bundle, files: bundle.manifest.length, policies: bundle.policyIds },
    });
    const verifier = createTokenVerifier(config.identity.issuers);
    cleanups.push(() => verifier.close());
    const pipeline = createPipeline({
      policy,
      protector: createProtector(),
      audit: store,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
    });
    const upstreams = await createUpstreamPool(
      config.upstreams.map((u) => ({ ...u, command: u.command === 'node' ? process.execPath : u.command })),
      { logger },
    );
    cleanups.push(() => upstreams.close());

    let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
    const server = http.createServer((req, res) => handler(req, res));
    const port = await listen(server, config.server.host, config.server.port);
    cleanups.push(() => closeServer(server));
    const url = (config.server.publicUrl ?? `http://${config.server.host}:${port}`).replace(/\/$/, '');
    const gateway = createGateway({
      verifier,
      pipeline,
      policy,
      upstreams,
      deriveAgent: deriveAgentContext,
      resourceUrl: `${url}/mcp`,
      authorizationServers: config.identity.issuers.map((i) => i.issuer),
      logger,
      readiness: {
        audit: () => store.head().then(() => true, () => false),
      },
    });
    cleanups.push(() => gateway.close());
    handler = gateway.handler;
    logger.info({ url, bundleHash: bundle.bundleHash, upstreams: upstreams.status() }, 'custos listening');
    return {
      url,
      mcpUrl: `${url}/mcp`,
      port,
      bundleHash: bundle.bundleHash,
      store,
      pipeline,
      close: () => runCleanups(cleanups),
    };
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

async function runCleanups(cleanups: Array<() => Promise<void> | void>): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // keep closing the rest
    }
  }
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
