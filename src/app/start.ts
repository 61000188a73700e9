/**
 * The composition root: the only place that picks adapters and wires them into the
 * pipeline and the front doors. Start-up fails fast and closed: no bundle, no store or
 * no issuer means no server.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createAuditStore, createCheckpointSigner, createCheckpointer, withCheckpoints } from '../audit/index.js';
import type { AuditStoreAdmin, CheckpointSigner } from '../audit/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { createExportService } from '../export/index.js';
import type { SinkStatus } from '../export/index.js';
import { createGateway } from '../gateway/index.js';
import { createDelegation, createIdentityServices, createTokenVerifier, deriveAgentContext, deriveSessionStoreLocation } from '../identity/index.js';
import { CustosError, NO_BUNDLE_HASH, createPipeline } from '../kernel/index.js';
import type { Pipeline, PolicySource, UpstreamTokenIssuer } from '../kernel/index.js';
import { createPolicySource, loadBundle } from '../policy/index.js';
import { assertRedactionPolicy, createProtector, extractTenants } from '../protect/index.js';
import { createUpstreamPool } from '../upstream/index.js';
import { superviseAuditStore } from './audit-supervision.js';
import { exportSettings } from './export-sinks.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import type { DelegationOptions } from '../identity/index.js';

export interface CustosInstance {
  readonly url: string;
  readonly mcpUrl: string;
  readonly port: number;
  readonly bundleHash: string;
  readonly store: AuditStoreAdmin;
  readonly pipeline: Pipeline;
  /** Each SIEM sink's cursor, lag and last error. */
  exportStatus(): Promise<SinkStatus[]>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
  /** Wraps the opened audit store before anything uses it: for tests that inject faults behind the store port. */
  readonly decorateAuditStore?: (store: AuditStoreAdmin) => AuditStoreAdmin;
}

export async function startCustos(config: ResolvedConfig, options: StartOptions = {}): Promise<CustosInstance> {
  const logger = options.logger ?? createLogger(config.log.level);
  const bundle = await loadBundle(config.policy.bundle);
  if (bundle.policy.redaction) assertRedactionPolicy(bundle.policy.redaction);
  const policy = createPolicySource(bundle.policy);
  const { signingKey } = config.audit.checkpoints;
  const signer = signingKey === undefined ? undefined : createCheckpointSigner(signingKey);
  const opened = await createAuditStore(config.audit.store, { busyTimeoutMs: config.audit.busyTimeoutMs });
  const decorated = options.decorateAuditStore?.(opened) ?? opened;
  const audit = superviseAuditStore(signer ? withConfiguredCheckpoints(decorated, signer, config, policy, logger) : decorated, { logger });
  const store = audit.store;
  const cleanups: Array<() => Promise<void> | void> = [() => store.close()];
  try {
    const { jwks } = config.identity;
    const verifier = createTokenVerifier(config.identity.issuers, {
      fetchTimeoutMs: jwks.fetchTimeoutMs,
      jwksCooldownMs: jwks.cooldownMs,
      jwksCacheMaxAgeMs: jwks.cacheMaxAgeMs,
      jwksFailureRetryMs: jwks.failureRetryMs,
    });
    cleanups.push(() => verifier.close());
    const identity = await createIdentityServices({
      store: resolveSessionStore(config),
      busyTimeoutMs: config.audit.busyTimeoutMs,
      issuers: config.identity.issuers,
      idleTimeoutSec: config.identity.sessions.idleTimeoutSec,
      adminRoles: config.identity.admin.roles,
      emergency: config.identity.emergency,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
    });
    cleanups.push(() => identity.close());
    const { maxBodyBytes, ...inputLimits } = config.limits;
    const pipeline = createPipeline({
      policy,
      protector: { ...createProtector({ roots: Object.fromEntries(config.upstreams.map((u) => [u.name, u.roots])) }), extractTenants },
      audit: store,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
      limits: inputLimits,
      emergency: identity.emergency,
    });
    audit.attach(pipeline);
    // The bundle Custos starts with is the first row it writes (a store that cannot write stops the start).
    await pipeline.recordAdmin({
      action: 'policy_activated',
      principal: 'custos',
      detail: { bundle_dir: config.policy.bundle, files: bundle.manifest.length, policies: bundle.policyIds },
    });
    // SIEM sinks read the trail from their own cursors; a sink that is down never blocks a call.
    const exporter = createExportService({ ...exportSettings(config), store });
    exporter.start();
    cleanups.push(() => exporter.stop());
    // Custos' token issuer exists once the server listens (its URL is the issuer); calls come later still.
    const upstreamTokens: { current?: UpstreamTokenIssuer } = {};
    const upstreams = await createUpstreamPool(
      config.upstreams.map((u) => ({ ...u, command: u.command === 'node' ? process.execPath : u.command })),
      {
        logger,
        tokens: {
          issue: (user, audience, mode) =>
            upstreamTokens.current
              ? upstreamTokens.current.issue(user, audience, mode)
              : Promise.reject(new CustosError('ERR_INTERNAL', 'upstream token issuer not ready')),
        },
      },
    );
    cleanups.push(() => upstreams.close());

    let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
    const server = http.createServer((req, res) => handler(req, res));
    const port = await listen(server, config.server.host, config.server.port);
    cleanups.push(() => closeServer(server));
    const url = (config.server.publicUrl ?? `http://${config.server.host}:${port}`).replace(/\/$/, '');
    const delegation = await createDelegationFor(config, {
      issuers: verifier,
      url,
      audit: pipeline,
      sessions: identity.sessions,
      grants: identity.backgroundGrants,
    });
    upstreamTokens.current = delegation.upstreamTokens;
    const gateway = createGateway({
      verifier: delegation.verifier,
      tokens: delegation.tokens,
      journal: delegation.journal,
      pipeline,
      policy,
      upstreams,
      protector: createProtector(),
      deriveAgent: deriveAgentContext,
      identity,
      resourceUrl: `${url}/mcp`,
      authorizationServers: config.identity.issuers.map((i) => i.issuer),
      logger,
      readiness: {
        audit: audit.readiness,
        issuers: () => config.identity.issuers.map((i) => ({ issuer: i.issuer })),
      },
      trustedProxies: config.server.trustedProxies,
      limits: { confirmationTimeoutMs: config.policy.confirmationTimeoutMs, authFailures: authFailureSettings(config), maxBodyBytes, input: inputLimits },
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
      exportStatus: () => exporter.status(),
      close: () => runCleanups(cleanups),
    };
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

/** With `audit.checkpoints.signingKey`, appends through the store drive signed checkpoint rows. */
function withConfiguredCheckpoints(
  store: AuditStoreAdmin,
  signer: CheckpointSigner,
  config: ResolvedConfig,
  policy: PolicySource,
  logger: Logger,
): AuditStoreAdmin {
  const { everyRows, everySec } = config.audit.checkpoints;
  const checkpointer = createCheckpointer(store, {
    signer,
    everyRows,
    everyMs: everySec * 1000,
    clock: { now: () => new Date() },
    ids: { newId: randomUUID },
    bundleHash: () => {
      try {
        return policy.current().bundleHash;
      } catch {
        return NO_BUNDLE_HASH;
      }
    },
    onError: (err) => logger.error({ code: (err as { code?: string }).code }, 'audit checkpoint not written; retried at the next trigger'),
  });
  return withCheckpoints(store, checkpointer);
}

/** server.authFailures as the gateway takes it. */
function authFailureSettings(config: ResolvedConfig) {
  const { burst, perMinute, windowSec, maxSources } = config.server.authFailures;
  return { burst, perMinute, maxSources, windowMs: windowSec * 1000 };
}

/** identity.sessions.store, relative to the config file; default beside the audit store. */
function resolveSessionStore(config: ResolvedConfig): string {
  const configured = config.identity.sessions.store;
  if (configured === undefined) return deriveSessionStoreLocation(config.audit.store);
  return configured.startsWith('sqlite:') ? `sqlite:${path.resolve(config.baseDir, configured.slice('sqlite:'.length))}` : configured;
}

/** Custos' own tokens (RFC 8693 delegation, background grants), signed with its keys. */
function createDelegationFor(config: ResolvedConfig, deps: Pick<DelegationOptions, 'issuers' | 'audit' | 'sessions' | 'grants'> & { url: string }) {
  const d = config.identity.delegation;
  return createDelegation({
    ...deps,
    issuerUrls: config.identity.issuers.map((i) => i.issuer),
    issuer: deps.url,
    resource: `${deps.url}/mcp`,
    keys: { dir: d.keysDir === undefined ? undefined : path.resolve(config.baseDir, d.keysDir), algorithm: d.algorithm, rotateAfterSec: d.rotateAfterSec },
    settings: {
      tokenTtlSec: d.tokenTtlSec,
      maxDepth: d.maxDepth,
      apiClients: d.apiClients,
      grantDefaultTtlSec: d.backgroundGrants.defaultTtlSec,
      grantMaxTtlSec: d.backgroundGrants.maxTtlSec,
    },
  });
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

/** Listens, turning the usual socket errors into a message that names the fix. */
export function listen(server: http.Server, host: string, port: number, key = 'server.port'): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'is already in use'
          : err.code === 'EACCES'
            ? 'needs privileges this process lacks'
            : `cannot be used (${err.code ?? 'error'})`;
      reject(
        new CustosError('ERR_CONFIG_INVALID', `${key}: ${host}:${port} ${why}; choose another port (${key}) or stop the process holding it.`, { cause: err }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
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
