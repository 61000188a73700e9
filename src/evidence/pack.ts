/**
 * `custos evidence`: writes an evidence pack into a new directory. Every fact comes from the
 * modules that own it (the audit chain, proofs and anchors; the policy bundle and its change
 * rows; the monitor's alerts and inventory; the export sinks' status; the TLS probe), passed in
 * as `PackSources` by the caller (the CLI, or the app for the HTTP API). The pack's manifest
 * lists every file's SHA-256 and is signed with the deployment's Ed25519 checkpoint key.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { verifyChain } from '../audit/index.js';
import type { AuditStoreAdmin, Checkpoint } from '../audit/index.js';
import type { ResolvedConfig } from '../config/index.js';
import { CustosError } from '../kernel/index.js';
import type { AuditRecord } from '../kernel/index.js';
import { inventoryToCsv } from '../monitor/index.js';
import type { Inventory } from '../monitor/index.js';
import type { LoadedBundle } from '../policy/index.js';
import { evaluateChecklist } from './checklist.js';
import type { Box, SinkView } from './checklist.js';
import { runControlTests } from './control-tests.js';
import type { ControlTestResult, ControlTestTarget } from './control-tests.js';
import { CONTROLS, CROSSWALK, FILES, controlsOf } from './controls.js';
import type { Framework } from './controls.js';
import { signManifest } from './manifest.js';
import type { ManifestSigner } from './manifest.js';
import { renderReport } from './report.js';
import { identityFlowSvg } from './svg.js';
import { collectTrailFacts } from './trail-facts.js';
import type { TrailFacts } from './trail-facts.js';
import { scanTrail } from './trail-scan.js';

export interface PackSources {
  readonly config: ResolvedConfig;
  readonly bundle: LoadedBundle | undefined;
  /** The trail (the store's read side). */
  readonly store: Pick<AuditStoreAdmin, 'read' | 'readRaw'>;
  /** The monitor's inventory folded from the trail's rows (read once with the pack's other facts). */
  readonly inventory: (rows: AsyncIterable<AuditRecord>) => Promise<Inventory>;
  /** Each SIEM sink's status at this trail head. */
  readonly sinks: (head: number) => readonly SinkView[];
  /** The TLS probe of every configured destination (`custos tls-audit`). */
  readonly tls: () => Promise<readonly unknown[]>;
  /** Signed checkpoints held outside (the directory and s3 anchors of export.sinks). */
  readonly anchors: () => Promise<readonly Checkpoint[]>;
  /** The decision stages to run the control tests against; absent when no bundle loads. */
  readonly tests: ControlTestTarget | undefined;
  readonly signer: ManifestSigner | undefined;
  readonly now: Date;
}

export interface PackOptions {
  readonly framework: Framework;
  readonly from?: Date;
  readonly to?: Date;
  /** A new or empty directory. */
  readonly out: string;
  /** Run the control tests (default true); false marks each not configured, "not requested". */
  readonly controlTests?: boolean;
  /** Prints report.html to report.pdf (headless Chromium); absent: no PDF. */
  readonly pdf?: (htmlFile: string, pdfFile: string) => Promise<void>;
}

export interface PackResult {
  readonly dir: string;
  readonly files: readonly string[];
  readonly manifestSha256: string;
  readonly checklist: readonly Box[];
  readonly tests: readonly ControlTestResult[];
  readonly rows: number;
  readonly bytes: number;
}

/** The checklist alone (the HTTP API's `GET /v1/evidence/checklist`): the same evaluation, no files. */
export async function evaluateDeployment(sources: PackSources): Promise<{ checklist: Box[]; facts: TrailFacts; tests: ControlTestResult[] }> {
  const facts = await collectTrailFacts(sources.store.read(), {});
  const chain = await verifyChain(sources.store.readRaw());
  const tests = await runControlTests(sources.tests, 'no policy bundle could be loaded');
  const head = chain.head?.seq ?? 0;
  const checklist = evaluateChecklist({
    config: sources.config,
    bundle: sources.bundle,
    facts,
    chain: {
      ok: chain.ok,
      ...(chain.ok ? {} : { reason: `seq ${chain.firstBrokenSeq}: ${chain.reason}` }),
      checkpoints: facts.checkpoints.length,
      anchored: 0,
    },
    sinks: sources.sinks(head),
    tests,
  });
  return { checklist, facts, tests };
}

function ensureEmpty(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (readdirSync(dir).length > 0) throw new CustosError('ERR_CONFIG_INVALID', `${dir} is not empty: an evidence pack goes into a new directory`);
  } catch (err) {
    if (err instanceof CustosError) throw err;
    throw new CustosError('ERR_CONFIG_INVALID', `${dir} cannot be created`, { cause: err });
  }
}

export async function writePack(sources: PackSources, options: PackOptions): Promise<PackResult> {
  ensureEmpty(options.out);
  const files = new Map<string, Buffer>();
  const put = (rel: string, content: string | Buffer): void => {
    files.set(rel, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
  };
  const json = (rel: string, value: unknown): void => put(rel, `${JSON.stringify(value, null, 2)}\n`);
  const { config, bundle, now } = sources;
  const window = { ...(options.from ? { from: options.from.getTime() } : {}), ...(options.to ? { to: options.to.getTime() } : {}) };
  const anchored = await sources.anchors();
  const keys = sources.signer ? new Map([[sources.signer.keyId, sources.signer.publicKey]]) : undefined;
  const { facts, inventory, chain, withKeys, proofs } = await scanTrail(sources.store, {
    window,
    inventory: sources.inventory,
    ...(keys ? { keys } : {}),
    anchored,
  });
  json(FILES.chain, {
    verified_at: now.toISOString(),
    chain: chain.ok
      ? { ok: true, rows: chain.count, head: chain.head }
      : { ok: false, rows_before_break: chain.count, first_broken_seq: chain.firstBrokenSeq, reason: chain.reason },
    checkpoints: {
      signing_key_id: sources.signer?.keyId ?? null,
      in_window: facts.checkpoints,
      verified: withKeys ? withKeys.checkpoints : null,
      findings: withKeys?.findings ?? [],
    },
    anchor: {
      configured: config.export.sinks.filter((s) => s.type === 'directory' || s.type === 's3').map((s) => s.name),
      checkpoints_held_outside: anchored.length,
    },
    inclusion_proofs: proofs,
    how_to_verify: 'custos audit verify --export trail.jsonl --pubkey checkpoint.pub.pem --anchor dir:ANCHOR (docs/audit-schema.md)',
  });

  const tests = await runControlTests(
    options.controlTests === false ? undefined : sources.tests,
    options.controlTests === false ? 'not requested for this pack' : 'no policy bundle could be loaded',
  );
  for (const t of tests) json(`control-tests/${t.id}.json`, t);
  json(FILES.controlTests, { identity: 'custos:control-test:* (tenant custos-control-test)', results: tests.map(({ observed: _o, ...t }) => t) });

  const checklist = evaluateChecklist({
    config,
    bundle,
    facts,
    chain: {
      ok: chain.ok,
      ...(chain.ok ? {} : { reason: `seq ${chain.firstBrokenSeq}: ${chain.reason}` }),
      checkpoints: withKeys?.checkpoints ?? facts.checkpoints.length,
      anchored: anchored.length,
    },
    sinks: sources.sinks(chain.head?.seq ?? 0),
    tests,
  });
  json(FILES.checklist, { generated_at: now.toISOString(), bundle_hash: bundle?.bundleHash ?? 'none', boxes: checklist });

  for (const [control, rows] of Object.entries(facts.samples)) put(`samples/${control}.jsonl`, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  put(FILES.diagram, identityFlowSvg(config, bundle?.bundleHash));
  json(FILES.identity, identityConfiguration(config, facts));
  json(FILES.policyHistory, {
    in_force: bundle ? { hash: bundle.bundleHash, ...bundle.info } : null,
    events: facts.policyEvents,
    bundle_hashes_on_rows: facts.bundles,
  });
  json(FILES.policyBundle, bundleEvidence(bundle));
  json(FILES.retention, { settings: config.audit.retention, six_years_days: 2192, events: facts.retentionEvents, purged_rows_in_trail: facts.purged });
  json(FILES.inventory, inventory);
  put(FILES.inventoryCsv, inventoryToCsv(inventory));
  json(FILES.alerts, alertVolume(facts));
  json(FILES.tls, { probed_at: now.toISOString(), destinations: await sources.tls() });
  json(FILES.siem, {
    schema: { rows: 'custos.audit/v1 (docs/audit-schema.md)', ocsf: 'API Activity 6003' },
    sinks: config.export.sinks.map((s) => ({ name: s.name, type: s.type, format: s.format, events: s.events ?? 'all' })),
    status: sources.sinks(chain.head?.seq ?? 0),
    alert_sinks: config.monitor.alerts.sinks.map((s) => ({ name: s.name, type: s.type })),
  });
  const { samples: _samples, ...stats } = facts;
  json(FILES.stats, { window: { from: options.from?.toISOString() ?? null, to: options.to?.toISOString() ?? null }, ...stats, alerts: facts.alerts.length });
  json(FILES.matrix, controlMatrix(options.framework, files, tests));
  put(
    FILES.report,
    renderReport({
      framework: options.framework,
      generatedAt: now,
      window: options,
      config,
      bundle,
      facts,
      checklist,
      tests,
      matrix: controlMatrix(options.framework, files, tests),
    }),
  );

  for (const [rel, content] of files) {
    mkdirSync(path.dirname(path.join(options.out, rel)), { recursive: true });
    writeFileSync(path.join(options.out, rel), content);
  }
  if (options.pdf) {
    await options.pdf(path.join(options.out, FILES.report), path.join(options.out, FILES.pdf));
  }
  const { manifestSha256, listed } = signManifest(options.out, sources.signer, now);
  const bytes = listed.reduce((a, f) => a + f.bytes, 0);
  return { dir: options.out, files: listed.map((f) => f.path), manifestSha256, checklist, tests, rows: facts.rows, bytes };
}

export type MatrixRow = ReturnType<typeof controlMatrix>['controls'][number];

function controlMatrix(framework: Framework, files: ReadonlyMap<string, Buffer>, tests: readonly ControlTestResult[]) {
  const status = (file: string): { status: 'present' | 'not_configured' | 'empty'; why?: string } => {
    const test = tests.find((t) => file === `control-tests/${t.id}.json`);
    if (test && test.status === 'not_configured') return { status: 'not_configured', why: test.why };
    if (file === FILES.pdf || file === FILES.report) return { status: 'present' };
    const content = files.get(file);
    if (!content) return { status: 'not_configured', why: 'not written' };
    if (content.length === 0) return { status: 'empty', why: 'no row of this kind in the window' };
    return { status: 'present' };
  };
  return {
    framework,
    crosswalk: CROSSWALK.filter((x) => framework === 'soc2' || framework === 'hipaa' || x.framework === framework),
    controls: controlsOf(framework).map((c) => ({
      id: c.id,
      title: c.title,
      mechanism: c.mechanism,
      config: c.config,
      evidence: c.evidence.map((e) => ({ ...e, ...status(e.file) })),
      tests: c.tests.map((id) => ({ id, status: tests.find((t) => t.id === id)?.status ?? 'not_configured' })),
    })),
    all_controls: CONTROLS.map((c) => c.id),
  };
}

function identityConfiguration(config: ResolvedConfig, facts: TrailFacts) {
  const { identity } = config;
  return {
    issuers: identity.issuers.map((i) => ({
      issuer: i.issuer,
      audience: i.audience,
      jwks_uri: i.jwksUri ?? `${i.issuer} (OIDC discovery)`,
      algorithms: i.algorithms ?? ['RS256', 'ES256', 'PS256', 'EdDSA'],
      clock_skew_sec: i.clockSkewSec,
      claims: i.claims,
    })),
    key_ids: 'the issuers publish their keys at jwks_uri; each row does not carry the kid (see the issuer JWKS at the time of the audit)',
    tiers: ['interactive', 'subagent', 'background', 'api'],
    tiers_seen: facts.byTier,
    sessions: { idle_timeout_sec: identity.sessions.idleTimeoutSec },
    delegation: { token_ttl_sec: identity.delegation.tokenTtlSec, max_depth: identity.delegation.maxDepth, algorithm: identity.delegation.algorithm },
    break_glass: {
      roles: identity.emergency.roles,
      reviewer_roles: identity.emergency.reviewerRoles,
      grant_ttl_sec: identity.emergency.grantTtlSec,
      ...facts.emergency,
    },
    admin_roles: identity.admin.roles,
  };
}

function bundleEvidence(bundle: LoadedBundle | undefined) {
  if (!bundle) return { loaded: false };
  return {
    hash: bundle.bundleHash,
    info: bundle.info,
    catalog: bundle.catalog,
    redaction: bundle.policy.redaction ?? null,
    egress: bundle.policy.egress ?? null,
    policies: bundle.policies,
  };
}

function alertVolume(facts: TrailFacts) {
  const byRule: Record<string, { raised: number; acknowledged: number; by: string[] }> = {};
  for (const a of facts.alerts) {
    const r = (byRule[a.type] ??= { raised: 0, acknowledged: 0, by: [] });
    r.raised++;
    if (a.acknowledged) {
      r.acknowledged++;
      if (a.acknowledged.by && !r.by.includes(a.acknowledged.by)) r.by.push(a.acknowledged.by);
    }
  }
  return { by_rule: byRule, alerts: facts.alerts };
}
