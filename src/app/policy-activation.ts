/**
 * Wires live policy activation: picks the bundle a replica starts with (the configured one,
 * else the last good one), writes its rows once the pipeline exists, then follows the source
 * (a watched directory or a git branch) and, on PostgreSQL, the other replicas' NOTIFYs.
 */
import type { ResolvedConfig } from '../config/index.js';
import type { AuditStore, ControlPlaneRecorder, Pipeline } from '../kernel/index.js';
import {
  chooseStartBundle,
  createActivator,
  createPolicySource,
  createPostgresPolicyNotifier,
  fetchGitBundle,
  followGit,
  modeOf,
  recordStart,
  watchDirectory,
} from '../policy/index.js';
import type { ActivationSettings, Activator, Follower, PolicyNotifier, SwappablePolicySource } from '../policy/index.js';
import type { LoadedBundle } from '../policy/index.js';
import { assertRedactionPolicy } from '../protect/index.js';
import type { Logger } from './logger.js';

export interface PolicyStart {
  readonly source: SwappablePolicySource;
  readonly bundle: LoadedBundle;
  readonly settings: ActivationSettings;
  /** Writes the start rows, then follows the source; returns the activator and a close function. */
  follow(
    recorder: ControlPlaneRecorder & Pick<Pipeline, 'recordAlert'>,
    store: AuditStore,
    onActivated?: (bundleHash: string, mode: 'enforce' | 'shadow' | 'emergency') => void,
  ): Promise<{ activator: Activator; close: () => Promise<void> }>;
}

export function activationSettings(config: ResolvedConfig): ActivationSettings {
  const { requiredApprovals, approvers, allowEmergency, stateDir } = config.policy;
  return {
    approvals: { requiredApprovals, approvers, allowEmergency },
    stateDir,
    checkBundle: (b) => {
      if (b.policy.redaction) assertRedactionPolicy(b.policy.redaction);
    },
  };
}

/** True when the trail holds a `policy_rollback_authorized` row for exactly this bundle. */
async function rollbackAuthorized(store: AuditStore, bundleHash: string): Promise<boolean> {
  for await (const r of store.read()) {
    if (r.event === 'admin' && r.detail?.action === 'policy_rollback_authorized' && r.detail.bundle_hash === bundleHash) return true;
  }
  return false;
}

export async function startPolicy(config: ResolvedConfig, logger: Logger): Promise<PolicyStart> {
  const settings = activationSettings(config);
  const { git } = config.policy;
  let dir = config.policy.bundle;
  let commit: string | undefined;
  if (git) {
    try {
      ({ dir, commit } = await fetchGitBundle(git, settings.stateDir));
    } catch (err) {
      logger.error({ code: (err as { code?: string }).code }, 'policy git source unreachable at start; starting with the last good bundle');
    }
  }
  const choice = await chooseStartBundle(dir, settings);
  const source = createPolicySource(choice.bundle.policy);
  return {
    source,
    bundle: choice.bundle,
    settings,
    async follow(recorder, store, onActivated) {
      await recordStart(recorder, choice, settings);
      // The bundle started with is an activation too: one in shadow or emergency mode raises the monitor's alert.
      onActivated?.(choice.bundle.bundleHash, modeOf(choice.bundle));
      if (commit) logger.info({ commit }, 'policy bundle from git');
      let notifier: PolicyNotifier | undefined;
      const activator = createActivator(choice.bundle, {
        ...settings,
        source,
        recorder,
        rollbackAuthorized: (hash) => rollbackAuthorized(store, hash),
        onActivated: (hash, mode) => {
          logger.info({ bundleHash: hash, mode }, 'policy bundle activated');
          notifier?.publish(hash);
          onActivated?.(hash, mode);
        },
      });
      if (!config.policy.watch) return { activator, close: async () => undefined };
      const onError = (err: unknown): void => logger.error({ code: (err as { code?: string }).code }, 'policy candidate not checked');
      const offer = (d: string, context: Parameters<Activator['offer']>[1]) => activator.offer(d, context);
      const follower: Follower = git
        ? followGit(git, settings.stateDir, offer, { pollMs: config.policy.pollMs, onError })
        : watchDirectory(config.policy.bundle!, offer, { pollMs: config.policy.pollMs, onError });
      if (/^postgres(ql)?:\/\//.test(config.audit.store)) {
        notifier = await createPostgresPolicyNotifier(config.audit.store, () => void follower.poke(), onError);
      }
      return {
        activator,
        close: async () => {
          follower.close();
          await notifier?.close();
        },
      };
    },
  };
}
