/**
 * Live activation. A candidate bundle (a watched directory, a git commit, the directory at
 * start) is loaded, validated and checked against the two-person rule and the version rule,
 * then swapped in atomically: the next decision on this replica is the new bundle's. A
 * candidate that fails is refused (an admin `policy_refused` row and an `alert` row) and the
 * bundle in force keeps deciding. A lower version is refused unless a rollback to exactly that
 * bundle was authorized (`custos policy rollback`, an audited row). Every activation is a
 * `policy_activated` row (old and new hash, version, author, approvers, what changed). The last
 * good bundle is copied under the state directory, so a restart never starts without policy.
 * A bundle whose mode is `shadow` is set beside the enforced one, never enforced.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CustosError } from '../kernel/index.js';
import type { AdminInput, AlertInput } from '../kernel/index.js';
import { checkApprovals, readApprovals } from './approvals.js';
import type { ApprovalRefusal, ApprovalSettings, ApprovalVerdict } from './approvals.js';
import { computeBundleHash } from './bundle-hash.js';
import { archiveBundle } from './archive.js';
import { diffBundles, summarizeChanges } from './bundle-diff.js';
import { loadBundle } from './load-bundle.js';
import type { SwappablePolicySource } from './policy-source.js';
import type { LoadedBundle } from './types.js';

export interface ActivationRecorder {
  recordAdmin(input: AdminInput): Promise<unknown>;
  recordAlert(input: AlertInput): Promise<unknown>;
}

export interface ActivationSettings {
  readonly approvals: ApprovalSettings;
  /** Where the last good bundle is kept (`bundles/<hash>/`, `last-good`). */
  readonly stateDir: string;
  /** Further checks of a loaded bundle (the protector's check of its redaction section); throw to refuse. */
  readonly checkBundle?: (bundle: LoadedBundle) => void;
}

export interface ActivationDeps extends ActivationSettings {
  readonly source: SwappablePolicySource;
  readonly recorder: ActivationRecorder;
  /** True when `custos policy rollback` authorized going back to exactly this bundle. */
  readonly rollbackAuthorized?: (bundleHash: string) => Promise<boolean>;
  /** Called after each activation on this replica (e.g. to NOTIFY the others, to alert on an unsafe mode). */
  readonly onActivated?: (bundleHash: string, mode: 'enforce' | 'shadow' | 'emergency') => void;
}

/** Why a candidate was refused (`detail.reason` of its row). */
export type RefusalReason = 'bundle_invalid' | ApprovalRefusal | 'version_lower' | 'version_reused';

export type Offer =
  | { readonly status: 'unchanged'; readonly bundleHash: string }
  | { readonly status: 'activated'; readonly bundle: LoadedBundle; readonly verdict: ApprovalVerdict & { ok: true } }
  | { readonly status: 'refused'; readonly bundleHash?: string; readonly reason: RefusalReason; readonly problems: readonly string[] };

export interface OfferContext {
  /** What brought the candidate: `start`, `watch`, `git`, `notify`, `rollback`. */
  readonly trigger: string;
  /** The git commit it came from. */
  readonly commit?: string;
}

export interface Activator {
  enforced(): LoadedBundle;
  shadow(): LoadedBundle | undefined;
  /** Checks the bundle in `dir` and activates it when it passes (offers run one at a time). */
  offer(dir: string, context: OfferContext): Promise<Offer>;
}

/** A verified candidate, or why it is refused. */
export async function verifyCandidate(dir: string, settings: ActivationSettings): Promise<Offer> {
  let bundle: LoadedBundle;
  try {
    bundle = await loadBundle(dir);
    settings.checkBundle?.(bundle);
  } catch (err) {
    const problems =
      err instanceof CustosError && Array.isArray(err.detail?.problems)
        ? (err.detail.problems as string[])
        : [err instanceof Error ? err.message : 'unreadable'];
    const bundleHash = await computeBundleHash(dir).then(
      (d) => d.bundleHash,
      () => undefined,
    );
    return { status: 'refused', ...(bundleHash ? { bundleHash } : {}), reason: 'bundle_invalid', problems: problems.slice(0, 20) };
  }
  const verdict = checkApprovals(bundle.bundleHash, bundle.info, await readApprovals(dir), settings.approvals);
  if (!verdict.ok)
    return {
      status: 'refused',
      bundleHash: bundle.bundleHash,
      reason: verdict.reason,
      problems: verdict.invalid.map((id) => `.approvals/${id}.sig: not a valid signature of a configured approver`),
    };
  return { status: 'activated', bundle, verdict };
}

const LAST_GOOD = 'last-good';

/** Archives a verified bundle (with its approvals) under the state directory (archive.ts) and points `last-good` at it. */
export async function keepLastGood(stateDir: string, bundle: LoadedBundle): Promise<void> {
  await archiveBundle(stateDir, bundle);
  const pointer = join(stateDir, `${LAST_GOOD}.tmp-${process.pid}`);
  await writeFile(pointer, `${bundle.bundleHash}\n`);
  await rename(pointer, join(stateDir, LAST_GOOD));
}

/** The directory of the last good bundle, when one was kept. */
export async function lastGoodDir(stateDir: string): Promise<string | undefined> {
  try {
    const hash = (await readFile(join(stateDir, LAST_GOOD), 'utf8')).trim();
    return /^[0-9a-f]{64}$/.test(hash) ? join(stateDir, 'bundles', hash) : undefined;
  } catch {
    return undefined;
  }
}

export interface StartChoice {
  readonly bundle: LoadedBundle;
  readonly verdict: ApprovalVerdict & { ok: true };
  /** The last good bundle kept before this start, when there was one (its hash is the row's `old_hash`). */
  readonly previous?: LoadedBundle;
  /** Set when the configured bundle was refused and the last good one decides instead. */
  readonly refused?: Offer & { status: 'refused' };
}

/**
 * The bundle a replica starts with: the configured one when it verifies and is not older than
 * the last good one; else the last good one. Neither: ERR_POLICY_BUNDLE_REFUSED (no start without policy).
 */
export async function chooseStartBundle(dir: string | undefined, settings: ActivationSettings): Promise<StartChoice> {
  const keptDir = await lastGoodDir(settings.stateDir);
  const kept = keptDir ? await verifyCandidate(keptDir, settings) : undefined;
  const previous = kept?.status === 'activated' ? kept : undefined;
  const offered = dir ? await verifyCandidate(dir, settings) : undefined;
  if (offered?.status === 'activated') {
    if (!previous || offered.bundle.info.version >= previous.bundle.info.version) return { ...offered, previous: previous?.bundle };
    const refused = { status: 'refused', bundleHash: offered.bundle.bundleHash, reason: 'version_lower', problems: [] } as const;
    return { ...previous, previous: previous.bundle, refused };
  }
  if (previous) return { ...previous, previous: previous.bundle, ...(offered?.status === 'refused' ? { refused: offered } : {}) };
  const why = offered?.status === 'refused' ? `${offered.reason}${offered.problems.length ? `: ${offered.problems.join('; ')}` : ''}` : 'no bundle source';
  const invalid = offered?.status === 'refused' && offered.reason === 'bundle_invalid';
  throw new CustosError(
    invalid ? 'ERR_POLICY_BUNDLE_INVALID' : 'ERR_POLICY_BUNDLE_REFUSED',
    `No policy bundle can be activated (${why}), and no last good bundle is kept in ${settings.stateDir}; fix the bundle or its approvals (docs/policy-bundles.md).`,
    {
      detail: { reason: offered?.status === 'refused' ? offered.reason : 'no_source', problems: offered?.status === 'refused' ? [...offered.problems] : [] },
    },
  );
}

/** The `policy_activated` row's detail. */
function activationDetail(
  before: LoadedBundle | undefined,
  after: LoadedBundle,
  verdict: ApprovalVerdict & { ok: true },
  context: OfferContext,
): Record<string, unknown> {
  return {
    old_hash: before?.bundleHash ?? null,
    new_hash: after.bundleHash,
    name: after.info.name,
    version: after.info.version,
    old_version: before?.info.version ?? null,
    mode: after.info.mode,
    author: verdict.author ?? null,
    approvers: [...verdict.approvers],
    approvals: verdict.unsigned ? 'unsigned' : 'verified',
    emergency: verdict.emergency,
    changes: summarizeChanges(diffBundles(before, after)),
    trigger: context.trigger,
    ...(context.commit ? { commit: context.commit } : {}),
    bundle_dir: after.dir,
    files: after.manifest.length,
    policies: [...after.policyIds],
  };
}

/** Writes the rows of a refusal: an admin `policy_refused` (deny) row and a high `policy_refused` alert. */
export async function recordRefusal(
  recorder: ActivationRecorder,
  refused: Offer & { status: 'refused' },
  context: OfferContext,
  inForce: string,
): Promise<void> {
  const detail = {
    candidate_hash: refused.bundleHash ?? null,
    reason: refused.reason,
    problems: [...refused.problems],
    in_force: inForce,
    trigger: context.trigger,
    ...(context.commit ? { commit: context.commit } : {}),
  };
  await recorder.recordAdmin({ action: 'policy_refused', principal: 'custos', decision: 'deny', reasons: ['policy_refused', refused.reason], detail });
  await recorder.recordAlert({ type: 'policy_refused', severity: 'high', principal: null, detail });
}

/** Writes the `policy_activated` row of a start. */
/** The mode a bundle decides in, as the monitor's bundle-mode alert names it. */
export function modeOf(bundle: LoadedBundle): 'enforce' | 'shadow' | 'emergency' {
  return bundle.info.emergency ? 'emergency' : bundle.info.mode;
}

export async function recordStart(recorder: ActivationRecorder, choice: StartChoice, settings: ActivationSettings): Promise<void> {
  if (choice.refused) await recordRefusal(recorder, choice.refused, { trigger: 'start' }, choice.bundle.bundleHash);
  const previous = choice.previous?.bundleHash === choice.bundle.bundleHash ? undefined : choice.previous;
  await recorder.recordAdmin({
    action: 'policy_activated',
    principal: 'custos',
    detail: activationDetail(previous, choice.bundle, choice.verdict, { trigger: 'start' }),
  });
  await keepLastGood(settings.stateDir, choice.bundle);
}

export function createActivator(initial: LoadedBundle, deps: ActivationDeps): Activator {
  let enforced = initial;
  let shadow: LoadedBundle | undefined;
  let lastRefused = '';
  let queue: Promise<unknown> = Promise.resolve();

  async function refuse(refused: Offer & { status: 'refused' }, context: OfferContext): Promise<Offer> {
    const key = `${refused.bundleHash ?? ''}:${refused.reason}:${refused.problems.join('|')}`;
    if (key !== lastRefused) await recordRefusal(deps.recorder, refused, context, enforced.bundleHash);
    lastRefused = key;
    return refused;
  }

  async function check(dir: string, context: OfferContext): Promise<Offer> {
    const digest = await computeBundleHash(dir).catch(() => undefined);
    if (digest && (digest.bundleHash === enforced.bundleHash || digest.bundleHash === shadow?.bundleHash))
      return { status: 'unchanged', bundleHash: digest.bundleHash };
    const offered = await verifyCandidate(dir, deps);
    if (offered.status !== 'activated') return offered.status === 'refused' ? refuse(offered, context) : offered;
    const { bundle } = offered;
    const { version } = bundle.info;
    if (version <= enforced.info.version) {
      const rollback =
        version < enforced.info.version && bundle.info.mode === 'enforce' && (await deps.rollbackAuthorized?.(bundle.bundleHash).catch(() => false));
      if (!rollback)
        return refuse(
          { status: 'refused', bundleHash: bundle.bundleHash, reason: version === enforced.info.version ? 'version_reused' : 'version_lower', problems: [] },
          context,
        );
      context = { ...context, trigger: 'rollback' };
    }
    const before = bundle.info.mode === 'shadow' ? shadow : enforced;
    if (bundle.info.mode === 'enforce') await keepLastGood(deps.stateDir, bundle);
    else await archiveBundle(deps.stateDir, bundle); // every activated version stays readable for the policy diff
    // The row first: a change that cannot be audited does not happen (the offer fails, the old bundle decides).
    await deps.recorder.recordAdmin({ action: 'policy_activated', principal: 'custos', detail: activationDetail(before, bundle, offered.verdict, context) });
    if (bundle.info.mode === 'shadow') {
      shadow = bundle;
      deps.source.setShadow(bundle.policy);
    } else {
      enforced = bundle;
      shadow = undefined;
      deps.source.swap(bundle.policy);
      deps.source.setShadow(undefined);
    }
    lastRefused = '';
    deps.onActivated?.(bundle.bundleHash, modeOf(bundle));
    return offered;
  }

  return {
    enforced: () => enforced,
    shadow: () => shadow,
    offer(dir, context) {
      const next = queue.then(() => check(dir, context));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
