/**
 * The composition root: the only place that picks adapters and wires them into the
 * pipeline and the front doors. Start-up fails fast and closed: no bundle, no store or
 * no issuer means no server.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  checkpointSignerOf,
  createAuditStore,
  createCheckpointer,
  createPendingAuthorizationStore,
  createRateCounter,
  deriveRateCounterLocation,
  withCheckpoints,
} from '../audit/index.js';
import type { AuditStoreAdmin, CheckpointSigner } from '../audit/index.js';
import { isLoopbackUrl } from '../config/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { createExportService } from '../export/index.js';
import type { SinkStatus } from '../export/index.js';
import { createGateway } from '../gateway/index.js';
import { createDelegation, createIdentityServices, createTokenVerifier, deriveAgentContext } from '../identity/index.js';
import { CustosError, NO_BUNDLE_HASH, createPipeline } from '../kernel/index.js';
import type { Clock, Pipeline, PolicySource, UpstreamPool, UpstreamTokenIssuer } from '../kernel/index.js';
import { createEgressGuard, createProtector, createPseudonymVault, extractTenants } from '../protect/index.js';
import { createKeyRegistry, recordKeysOf } from '../keys/index.js';
import { createUpstreamPool } from '../upstream/index.js';
import { createOutbound } from './outbound.js';
import type { Outbound } from './outbound.js';
import { superviseAuditStore } from './audit-supervision.js';
import { startPolicy } from './policy-activation.js';
import { exportSettings } from './export-sinks.js';
import { createMonitoring } from './monitoring.js';
import { createConsolePort } from './console.js';
import { createAuditSearch } from './audit-search.js';
import type { Monitor } from '../monitor/index.js';
import { createLogger } from './logger.js';
import { migrateStores } from './migrations.js';
import { createEvidenceService } from './evidence-service.js';
import { resolveSessionStore } from './session-store.js';
import type { Logger } from './logger.js';
import type { DelegationOptions } from '../identity/index.js';
import type { Activator } from '../policy/index.js';

export interface CustosInstance {
  readonly url: string;
  readonly mcpUrl: string;
  readonly port: number;
  readonly bundleHash: string;
  readonly store: AuditStoreAdmin;
  readonly pipeline: Pipeline;
  /** Alert rules, kill switches, drift, the inventory (absent when `monitor.enabled` is false); `bundleActivated` is for the policy side. */
  readonly monitor?: Monitor;
  /** Live activation: the bundle in force, and `offer` to check a candidate now. */
  readonly policy: Activator;
  /** Each SIEM sink's cursor, lag and last error. */
  exportStatus(): Promise<SinkStatus[]>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
  /** Wraps the opened audit store before anything uses it: for tests that inject faults behind the store port. */
  readonly decorateAuditStore?: (store: AuditStoreAdmin) => AuditStoreAdmin;
  /** The clock of the session guard (idle logoff, revocation times, grants); default the system's. Tests move it instead of waiting. */
  readonly sessionClock?: Clock;
}

export async function startCustos(config: ResolvedConfig, options: StartOptions = {}): Promise<CustosInstance> {
  const logger = options.logger ?? createLogger(config.log.level);
  const policyStart = await startPolicy(config, logger);
  const { bundle, source: policy } = policyStart;
  const keys = createKeyRegistry(config.keys);
  const { signingKey } = config.audit.checkpoints;
  let opened: AuditStoreAdmin;
  let signer: CheckpointSigner | undefined;
  try {
    signer = signingKey === undefined ? undefined : checkpointSignerOf(signingKey, (id) => keys.signingKey(id));
    for (const r of await migrateStores([config.audit.store, resolveSessionStore(config)]))
      if (r.ahead) logger.warn({ store: r.store, version: r.version }, 'the store was migrated by a newer Custos; its additions are left alone');
    opened = await createAuditStore(config.audit.store, { busyTimeoutMs: config.audit.busyTimeoutMs, keys: recordKeysOf(keys, config.audit.encryption?.key) });
  } catch (err) {
    keys.close();
    throw err;
  }
  const decorated = options.decorateAuditStore?.(opened) ?? opened;
  const audit = superviseAuditStore(signer ? withConfiguredCheckpoints(decorated, signer, config, policy, logger) : decorated, { logger });
  const store = audit.store;
  const cleanups: Array<() => Promise<void> | void> = [() => keys.close(), () => store.close()];
  try {
    // Pin mismatches are recorded through the pipeline, which is built after the verifier that needs the outbound side.
    const recorder: { pipeline?: Pipeline } = {};
    const outbound = createOutbound(config, () => recorder.pipeline);
    cleanups.push(() => outbound.close());
    const { jwks } = config.identity;
    const verifier = createTokenVerifier(config.identity.issuers, {
      fetchFor: (issuer) => outbound.issuerFetch(issuer),
      fetchTimeoutMs: jwks.fetchTimeoutMs,
      jwksCooldownMs: jwks.cooldownMs,
      jwksCacheMaxAgeMs: jwks.cacheMaxAgeMs,
      jwksFailureRetryMs: jwks.failureRetryMs,
    });
    cleanups.push(() => verifier.close());
    const identity = await createIdentityServices({
      store: resolveSessionStore(config),
      busyTimeoutMs: config.audit.busyTimeoutMs,
      keys: recordKeysOf(keys, config.audit.encryption?.key), // the session store sealed under the trail's key
      issuers: config.identity.issuers,
      idleTimeoutSec: config.identity.sessions.idleTimeoutSec,
      adminRoles: config.identity.admin.roles,
      emergency: config.identity.emergency,
      clock: options.sessionClock ?? { now: () => new Date() },
      ids: { newId: randomUUID },
    });
    cleanups.push(() => identity.close());
    const { maxBodyBytes, ...inputLimits } = config.limits;
    const pseudonyms = config.llm.pseudonyms.enabled
      ? createPseudonymVault({ clock: { now: () => new Date() }, ttlMs: config.llm.pseudonyms.ttlSec * 1000 })
      : undefined;
    const rateCounter = await createRateCounter(deriveRateCounterLocation(config.audit.store), { busyTimeoutMs: config.audit.busyTimeoutMs });
    cleanups.push(() => rateCounter.close());
    // The decision API's pending authorizations, beside the counters: any replica takes the next leg of a call.
    const pendingStore = await createPendingAuthorizationStore(deriveRateCounterLocation(config.audit.store), {
      busyTimeoutMs: config.audit.busyTimeoutMs,
      keys: recordKeysOf(keys, config.audit.encryption?.key), // sealed like the trail
    });
    cleanups.push(() => pendingStore.close());
    const monitoring = createMonitoring(config, { store, logger, counter: rateCounter, keys });
    cleanups.push(() => monitoring.close());
    const auditSearch = createAuditSearch(config, store, logger, keys);
    cleanups.push(() => auditSearch.close());
    // A write's before-state is read through the upstream pool, which is opened after the pipeline.
    const pool: { current?: UpstreamPool } = {};
    const pipeline = createPipeline({
      rateCounter,
      beforeState: (source, call, traceparent) =>
        pool.current
          ? pool.current.callTool(source.tool.server, source.tool.name, { ...source.arguments }, { traceparent, user: call.principal ?? undefined })
          : Promise.reject(new CustosError('ERR_GATEWAY_UPSTREAM_UNAVAILABLE', 'upstreams not ready')),
      policy,
      protector: { ...createProtector({ roots: Object.fromEntries(config.upstreams.map((u) => [u.name, u.roots])) }), extractTenants },
      audit: monitoring.instrument(auditSearch.feeding(store)),
      monitor: monitoring.hook,
      guard: monitoring.guard,
      observer: monitoring.observer,
      clock: { now: () => new Date() },
      ids: { newId: randomUUID },
      limits: inputLimits,
      emergency: identity.emergency,
      egress: createEgressGuard(),
      pseudonyms,
    });
    recorder.pipeline = pipeline;
    audit.attach(pipeline);
    monitoring.attach(pipeline);
    // The bundle Custos starts with is the first row it writes (a store that cannot write stops the start);
    // then the bundle source is followed: each verified candidate is swapped in without a restart.
    // A bundle activated in shadow or emergency mode is an alert (the monitor's rule).
    const following = await policyStart.follow(pipeline, store, (hash, mode) => void monitoring.monitor?.bundleActivated(mode, hash).catch(() => undefined));
    cleanups.push(() => following.close());
    // SIEM sinks read the trail from their own cursors; a sink that is down never blocks a call.
    const exporter = createExportService({ ...exportSettings(config), store });
    exporter.start();
    cleanups.push(() => exporter.stop());
    // Custos' token issuer exists once the server listens (its URL is the issuer); calls come later still.
    const upstreamTokens: { current?: UpstreamTokenIssuer } = {};
    const upstreams = await createUpstreamPool(outbound.upstreams, {
      logger,
      tokens: {
        issue: (user, audience, mode) =>
          upstreamTokens.current
            ? upstreamTokens.current.issue(user, audience, mode)
            : Promise.reject(new CustosError('ERR_INTERNAL', 'upstream token issuer not ready')),
      },
    });
    cleanups.push(() => upstreams.close());
    pool.current = upstreams;
    await monitoring.start(upstreams);

    let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
    const server = createServer(config, (req, res) => handler(req, res), logger);
    const port = await listen(server, config.server.host, config.server.port);
    cleanups.push(() => closeServer(server));
    const scheme = config.server.tls ? 'https' : 'http';
    const url = (config.server.publicUrl ?? `${scheme}://${config.server.host}:${port}`).replace(/\/$/, '');
    const delegation = await createDelegationFor(config, {
      issuers: verifier,
      url,
      audit: pipeline,
      sessions: identity.sessions,
      grants: identity.backgroundGrants,
      issuerFetch: (issuer: string) => outbound.issuerFetch(issuer),
    });
    upstreamTokens.current = delegation.upstreamTokens;
    const gateway = createGateway({
      pendingStore,
      verifier: delegation.verifier,
      tokens: delegation.tokens,
      journal: delegation.journal,
      pipeline,
      policy,
      upstreams,
      models: outbound.models,
      pseudonyms,
      protector: createProtector(),
      deriveAgent: deriveAgentContext,
      identity,
      resourceUrl: `${url}/mcp`,
      authorizationServers: config.identity.issuers.map((i) => i.issuer),
      logger,
      readiness: {
        audit: audit.readiness,
        sessions: identity.readiness,
        issuers: () => config.identity.issuers.map((i) => ({ issuer: i.issuer })),
        sinks: () => exporter.status(),
      },
      auditSearch: auditSearch.port,
      trustedProxies: config.server.trustedProxies,
      monitor: monitoring.admin,
      ...(config.evidence.enabled
        ? {
            evidence: createEvidenceService(config, store, keys, {
              // The control tests' revoked session goes through the gateway's own guard and store.
              sessions: async () => ({ ...identity.sessions, revokeSession: identity.admin.revokeSession, close: async () => {} }),
            }),
          }
        : {}),
      console: createConsolePort(config, { store, activator: () => following.activator, signer, resourceUrl: `${url}/mcp` }),
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
      ...(monitoring.monitor ? { monitor: monitoring.monitor } : {}),
      policy: following.activator,
      exportStatus: () => exporter.status(),
      close: () => runCleanups(cleanups),
    };
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

/** HTTPS with `server.tls`; plain HTTP otherwise, with a loud warning when it listens off loopback. */
function createServer(config: ResolvedConfig, listener: http.RequestListener, logger: Logger): http.Server {
  const tls = config.server.tls;
  if (!tls) {
    if (!isLoopbackUrl(`http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}/`))
      logger.warn(
        { host: config.server.host, key: 'server.tls' },
        'SERVING PLAIN HTTP OFF LOOPBACK: tokens and data cross the network in the clear. Set server.tls (cert, key) or listen on 127.0.0.1 behind a TLS proxy.',
      );
    return http.createServer(listener);
  }
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(tls.cert, 'utf8');
    key = readFileSync(tls.key, 'utf8');
  } catch {
    throw new CustosError('ERR_CONFIG_INVALID', `server.tls: cannot read ${tls.cert} or ${tls.key}; point cert and key at PEM files.`);
  }
  return https.createServer({ cert, key, minVersion: tls.minVersion }, listener);
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

/** Custos' own tokens (RFC 8693 delegation, background grants), signed with its keys. */
function createDelegationFor(
  config: ResolvedConfig,
  deps: Pick<DelegationOptions, 'issuers' | 'audit' | 'sessions' | 'grants'> & { url: string; issuerFetch: Outbound['issuerFetch'] },
) {
  const d = config.identity.delegation;
  const { issuerFetch, ...rest } = deps;
  return createDelegation({
    ...rest,
    idpExchange: config.identity.issuers.flatMap((i) => (i.tokenExchange ? [{ issuer: i.issuer, ...i.tokenExchange, fetch: issuerFetch(i.issuer) }] : [])),
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
