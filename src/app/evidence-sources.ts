/**
 * What an evidence pack reads, composed from the modules that own each fact: the bundle in
 * force (the configured directory, or the last good copy of a git-followed one), the trail,
 * the monitor's inventory, the export sinks' status and anchors, the TLS probe, the kernel's
 * decision stages for the control tests, and the checkpoint key that signs the manifest.
 * `custos evidence` and the HTTP API (`/v1/evidence/*`) both start here.
 */
import { randomUUID, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCheckpoint, keyIdOf } from '../audit/index.js';
import type { AuditStoreAdmin, Checkpoint } from '../audit/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { controlTestAudit } from '../evidence/index.js';
import type { ControlTestSessions, ManifestSigner, PackSources } from '../evidence/index.js';
import { readDirectoryAnchor, readS3Anchor, readSinkStatus } from '../export/index.js';
import { createSessionGuard, openSessionStore } from '../identity/index.js';
import { createPipeline } from '../kernel/index.js';
import { recordKeysOf } from '../keys/index.js';
import type { KeyRegistry } from '../keys/index.js';
import { readInventory } from '../monitor/index.js';
import { lastGoodDir, loadBundle } from '../policy/index.js';
import type { LoadedBundle } from '../policy/index.js';
import { createEgressGuard, createProtector } from '../protect/index.js';
import { auditTls } from './outbound.js';
import { resolveSessionStore } from './session-store.js';

/** The keys a pack uses: the checkpoint key signs the manifest; the record keys open the sealed session store. */
export type EvidenceKeys = Pick<KeyRegistry, 'signingKey' | 'encryptionKey'>;

/** The manifest signer: the checkpoint signing key (a registry key, or a PEM), named by its checkpoint key id. */
export function manifestSignerOf(config: ResolvedConfig, keys: Pick<KeyRegistry, 'signingKey'>): ManifestSigner | undefined {
  const ref = config.audit.checkpoints.signingKey;
  if (ref === undefined) return undefined;
  if (ref.startsWith('key:')) {
    const key = keys.signingKey(ref.slice(4));
    return { keyId: keyIdOf(key.publicKey), publicKey: key.publicKey, sign: (data) => key.sign(data) };
  }
  const privateKey = createPrivateKey(ref);
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), publicKey, sign: (data) => sign(null, data, privateKey) };
}

async function bundleInForce(config: ResolvedConfig): Promise<LoadedBundle | undefined> {
  const dir = config.policy.bundle ?? (await lastGoodDir(config.policy.stateDir));
  if (dir === undefined) return undefined;
  try {
    return await loadBundle(dir);
  } catch {
    return undefined;
  }
}

async function anchoredCheckpoints(config: ResolvedConfig): Promise<Checkpoint[]> {
  const out: Checkpoint[] = [];
  for (const sink of config.export.sinks) {
    if (sink.type !== 'directory' && sink.type !== 's3') continue;
    const contents = sink.type === 's3' ? await readS3Anchor(sink).catch(() => undefined) : readDirectoryAnchor(sink.path);
    for (const r of contents?.records ?? []) if (r.event === 'checkpoint' && isCheckpoint(r.checkpoint)) out.push(r.checkpoint);
  }
  return out;
}

export interface EvidenceSourceOptions {
  /** Probe TLS of every configured destination (default true; `--no-tls`). */
  readonly tls?: boolean;
  readonly tlsTimeoutMs?: number;
  readonly now?: Date;
  /** The session guard for the revoked-session test; default: the configured session store, opened for the test. */
  readonly sessions?: () => Promise<ControlTestSessions>;
}

/** The SDK's fail-closed check, compiled by `npm run build` into sdk/dist at the root of the checkout or image (dist/app, src/app or dist-bench/src/app below it). */
const SDK_CHECK = 'sdk/dist/src/fail-closed-check.js';

function sdkCheck(): { script: string } | { missing: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++, dir = path.dirname(dir)) {
    const script = path.join(dir, SDK_CHECK);
    if (existsSync(script)) return { script };
  }
  return { missing: `the SDK is not built (${SDK_CHECK} missing): npm run build compiles sdk/` };
}

/** The deployment's session store with the guard the gateway builds on it, for one control test. */
async function openSessions(config: ResolvedConfig, keys: EvidenceKeys): Promise<ControlTestSessions> {
  const store = await openSessionStore(resolveSessionStore(config), {
    busyTimeoutMs: config.audit.busyTimeoutMs,
    keys: recordKeysOf(keys, config.audit.encryption?.key),
  });
  const guard = createSessionGuard({ store, clock: { now: () => new Date() }, idleTimeoutSec: config.identity.sessions.idleTimeoutSec });
  return { check: guard.check, touch: guard.touch, revokeSession: guard.revokeSession, close: () => store.close() };
}

export async function createEvidenceSources(
  config: ResolvedConfig,
  store: AuditStoreAdmin,
  keys: EvidenceKeys,
  options: EvidenceSourceOptions = {},
): Promise<PackSources> {
  const now = options.now ?? new Date();
  const bundle = await bundleInForce(config);
  const protector = createProtector({ roots: Object.fromEntries(config.upstreams.map((u) => [u.name, u.roots])) });
  const pipeline = bundle
    ? createPipeline({
        policy: { current: () => bundle.policy },
        protector,
        audit: controlTestAudit(store),
        clock: { now: () => now },
        ids: { newId: randomUUID },
        egress: createEgressGuard(),
      })
    : undefined;
  return {
    config,
    bundle,
    store,
    inventory: (rows) => readInventory(rows, now),
    sinks: (head) => readSinkStatus(config.export.stateDir, config.export.sinks, head),
    tls: async () => (options.tls === false ? [] : auditTls(config, { timeoutMs: options.tlsTimeoutMs ?? 5000, now })),
    anchors: () => anchoredCheckpoints(config),
    tests:
      bundle && pipeline
        ? {
            pipeline,
            bundle,
            sessions: options.sessions ?? (() => openSessions(config, keys)),
            sdkCheck: sdkCheck(),
            trailLines: async function* (limit) {
              for await (const row of store.readRaw()) {
                if (row.seq > limit) return;
                yield row.json;
              }
            },
          }
        : undefined,
    signer: manifestSignerOf(config, keys),
    now,
  };
}
