/**
 * The playbook's nineteen checklist boxes, each evaluated from the configuration, the bundle,
 * the trail and the control tests as pass, fail or not configured, with why and the pack file
 * that shows it.
 */
import type { ResolvedConfig } from '../config/index.js';
import type { LoadedBundle } from '../policy/index.js';
import { CHECKLIST, FILES } from './controls.js';
import type { ControlTestId } from './controls.js';
import type { ControlTestResult, Outcome } from './control-tests.js';
import type { TrailFacts } from './trail-facts.js';

export interface Box {
  readonly id: string;
  readonly title: string;
  readonly status: Outcome;
  readonly why: string;
  readonly file: string;
}

/** What a SIEM sink reports (the export module's `SinkStatus`, as far as the checklist reads it). */
export interface SinkView {
  readonly name: string;
  readonly type: string;
  readonly state: string;
  readonly lag: number;
  readonly last_error?: { readonly reason: string; readonly at: string };
}

export interface ChecklistInputs {
  readonly config: ResolvedConfig;
  readonly bundle: LoadedBundle | undefined;
  readonly facts: TrailFacts;
  readonly chain: { readonly ok: boolean; readonly reason?: string; readonly checkpoints: number; readonly anchored: number };
  readonly sinks: readonly SinkView[];
  /** All nine (`runControlTests`). */
  readonly tests: readonly ControlTestResult[];
}

type Verdict = readonly [Outcome, string, string];

const pass = (why: string, file: string): Verdict => ['pass', why, file];
const fail = (why: string, file: string): Verdict => ['fail', why, file];
const off = (why: string, file: string): Verdict => ['not_configured', why, file];

function testOf(tests: readonly ControlTestResult[], id: ControlTestId): ControlTestResult {
  const t = tests.find((x) => x.id === id);
  if (!t) throw new Error(`control test ${id} missing`);
  return t;
}

function fromTest(tests: readonly ControlTestResult[], id: ControlTestId): Verdict {
  const t = testOf(tests, id);
  return [t.status, `control test ${id}: ${t.why}`, `control-tests/${id}.json`];
}

/** Evaluates the nineteen boxes in the playbook's order. */
export function evaluateChecklist(i: ChecklistInputs): Box[] {
  const { config, bundle, facts } = i;
  const issuers = config.identity.issuers;
  const tierless = facts.calls - Object.values(facts.byTier).reduce((a, b) => a + b, 0);
  const unpinned = facts.bundles.filter((b) => b.hash === 'none').reduce((a, b) => a + b.rows, 0);
  const retention = config.audit.retention;
  const shortest = Math.min(retention.defaultDays, ...Object.values(retention.classes).filter((d): d is number => d !== undefined));
  const failing = i.sinks.filter((s) => s.last_error || s.state === 'stopped');
  const alertSinks = config.monitor.alerts.sinks;
  const providers = config.llm.providers;
  const noBundle = off('no policy bundle could be loaded', FILES.policyBundle);
  const verdicts: Verdict[] = [
    issuers.length > 0
      ? pass(
          `${issuers.length} trusted issuer(s); no credential without a verified user reaches a tool (machine tokens are refused as no_user)`,
          FILES.identity,
        )
      : fail('no issuer configured', FILES.identity),
    pass(
      `signature (JWKS), iss, aud and exp checked for ${issuers.map((x) => x.issuer).join(', ')}; algorithms ${[...new Set(issuers.flatMap((x) => x.algorithms ?? ['RS256', 'ES256', 'PS256', 'EdDSA']))].join(', ')} (never none or HMAC)`,
      FILES.identity,
    ),
    pass(
      `RFC 8693 delegation up to ${config.identity.delegation.maxDepth} actors; ${facts.delegatedCalls} call(s) in the window went through a sub-agent, each row naming the user and the chain`,
      'samples/164.312(d).jsonl',
    ),
    tierless === 0
      ? pass(
          `every one of ${facts.calls} call row(s) carries agent.tier (${
            Object.entries(facts.byTier)
              .map(([t, n]) => `${t} ${n}`)
              .join(', ') || 'none yet'
          })`,
          FILES.stats,
        )
      : fail(`${tierless} call row(s) without agent.tier`, FILES.stats),
    config.policy.git
      ? pass(`the bundle follows git ${config.policy.git.repo} (${config.policy.git.branch})`, FILES.policyHistory)
      : config.policy.approvers.length > 0
        ? pass('a hashed bundle directory whose versions carry signed approvals (equivalent of git review)', FILES.policyHistory)
        : off(
            'policy.bundle is a directory with neither policy.git nor policy.approvers: versions are hashed on each row but not kept as reviewed records',
            FILES.policyHistory,
          ),
    unpinned === 0
      ? pass(`every call row pins a bundle hash; ${facts.bundles.length} bundle version(s) decided calls in the window`, 'samples/CC7.1.jsonl')
      : fail(`${unpinned} call row(s) decided without a bundle (bundle_hash none)`, 'samples/CC7.1.jsonl'),
    config.policy.approvers.length > 0 && config.policy.requiredApprovals >= 1
      ? pass(
          `${config.policy.requiredApprovals} approval(s) besides the author's from ${config.policy.approvers.length} approvers (Ed25519)`,
          FILES.policyHistory,
        )
      : off('policy.approvers is empty: a bundle activates without a second person', FILES.policyHistory),
    bundle ? fromTest(i.tests, 'background-write-denied') : noBundle,
    facts.incomplete === 0
      ? pass(`all ${facts.calls} call row(s) carry user, agent name, tier, tool, decision and bundle hash`, 'samples/CC7.2.jsonl')
      : fail(`${facts.incomplete} of ${facts.calls} call row(s) miss one of user, agent name, tier, tool, decision, bundle hash`, 'samples/CC7.2.jsonl'),
    facts.unmatchedIntents === 0
      ? pass(
          'inputs and outputs stored redacted with their SHA-256; every intent row in the window has its result row (same request_id)',
          'samples/CC7.2.jsonl',
        )
      : fail(`${facts.unmatchedIntents} allowed call(s) without a result row in the window (in flight when the pack was made, or lost)`, 'samples/CC7.2.jsonl'),
    shortest >= 2192
      ? pass(`every record class kept at least ${shortest} days (six years = 2192); minimum enforced ${retention.minimumDays} days`, FILES.retention)
      : fail(`a record class is kept only ${shortest} days, less than six years`, FILES.retention),
    i.chain.ok
      ? pass(
          `hash chain intact${i.chain.checkpoints ? `; ${i.chain.checkpoints} signed checkpoint(s)` : '; no signed checkpoints (audit.checkpoints.signingKey not set)'}${i.chain.anchored ? `; ${i.chain.anchored} anchored outside` : ''}`,
          FILES.chain,
        )
      : fail(`hash chain broken: ${i.chain.reason ?? 'see the report'}`, FILES.chain),
    config.export.sinks.length === 0
      ? off('export.sinks is empty: nothing reaches a SIEM (the schema, docs/audit-schema.md and OCSF 6003, is in the pack)', FILES.siem)
      : failing.length > 0
        ? fail(`sink ${failing.map((s) => `${s.name} (${s.last_error?.reason ?? s.state})`).join(', ')} not delivering`, FILES.siem)
        : pass(
            `${config.export.sinks.map((s) => `${s.name} (${s.type}, ${s.format})`).join(', ')} delivering; schema custos.audit/v1 and OCSF 6003`,
            FILES.siem,
          ),
    providers.length === 0
      ? off('llm.providers is empty: no model-provider leg goes through Custos, so nothing is redacted on it', FILES.policyBundle)
      : pass(
          `${providers.length} provider(s) behind redact_model: the request body leaves only redacted${bundle?.policy.redaction ? ' under the bundle redaction section' : ''}`,
          FILES.policyBundle,
        ),
    bundle ? egressVerdict(bundle, testOf(i.tests, 'egress-denied')) : noBundle,
    bundle ? writesVerdict(i.tests) : noBundle,
    bundle ? fromTest(i.tests, 'sdk-fails-closed') : noBundle,
    config.export.sinks.length === 0 && alertSinks.length === 0
      ? off('neither export.sinks nor monitor.alerts.sinks is set: alert rows stay in the trail and the log', FILES.alerts)
      : failing.length > 0
        ? fail(`the SIEM sink ${failing.map((s) => s.name).join(', ')} is not delivering, so alert rows do not reach it`, FILES.alerts)
        : pass(
            `alert rows (deny spikes, tier mismatch, …) reach ${[...config.export.sinks, ...alertSinks].map((s) => s.name).join(', ')}; ${facts.alerts.length} in the window`,
            FILES.alerts,
          ),
    config.monitor.enabled
      ? pass('the monitor folds the trail into the inventory of servers, tools and agents, with definition drift', FILES.inventory)
      : off('monitor.enabled is false: no inventory', FILES.inventory),
  ];
  return CHECKLIST.map((b, n) => ({ id: b.id, title: b.title, status: verdicts[n]![0], why: verdicts[n]![1], file: verdicts[n]![2] }));
}

/** Box 16: writes to ePHI only interactive (background denied) and confirmed. */
function writesVerdict(tests: readonly ControlTestResult[]): Verdict {
  const bg = testOf(tests, 'background-write-denied');
  const confirmed = testOf(tests, 'interactive-write-confirmed');
  if (bg.status === 'fail') return fail(bg.why, 'control-tests/background-write-denied.json');
  if (confirmed.status === 'fail') return fail(confirmed.why, 'control-tests/interactive-write-confirmed.json');
  if (bg.status === 'not_configured' || confirmed.status === 'not_configured')
    return off(`${bg.status === 'not_configured' ? bg.why : confirmed.why}`, 'control-tests/interactive-write-confirmed.json');
  return pass(`${bg.why}; ${confirmed.why}`, FILES.controlTests);
}

/** Box 15: an allow-list in force; the control test when a tool sends data out. */
function egressVerdict(bundle: LoadedBundle, test: ControlTestResult): Verdict {
  const list = bundle.policy.egress ? 'the bundle egress section is the allow-list' : 'the bundle has no egress section, so every destination is denied';
  if (test.status === 'not_configured') return pass(`${list} (${test.why})`, FILES.policyBundle);
  return [test.status, `${list}; control test: ${test.why}`, 'control-tests/egress-denied.json'];
}
