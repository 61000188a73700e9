/**
 * The playbook's controls as data (docs/evidence.md): each SOC 2 and HIPAA control with the
 * Custos mechanism that satisfies it, the configuration that turns it on, the evidence items
 * an auditor asks for (each a file of the pack), and the live control tests that exercise it;
 * the crosswalk to PCI DSS, GDPR, the EU AI Act and NIST AI RMF; the nineteen checklist boxes.
 */

export const FRAMEWORKS = ['soc2', 'hipaa', 'pci', 'gdpr', 'euaiact', 'nist'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** The nine live control tests of the playbook. */
export const CONTROL_TESTS = {
  lowPrivilegeDenied: 'low-privilege-denied',
  envRedacted: 'env-redacted',
  noUserPhiDenied: 'no-user-phi-denied',
  revokedSessionDenied: 'revoked-session-denied',
  backgroundWriteDenied: 'background-write-denied',
  interactiveWriteConfirmed: 'interactive-write-confirmed',
  egressDenied: 'egress-denied',
  tamperedExportDetected: 'tampered-export-detected',
  sdkFailsClosed: 'sdk-fails-closed',
} as const;
export type ControlTestId = (typeof CONTROL_TESTS)[keyof typeof CONTROL_TESTS];

export interface EvidenceItem {
  /** Unique across the map. */
  readonly id: string;
  /** The playbook's wording. */
  readonly title: string;
  /** The pack file that holds it (relative). */
  readonly file: string;
}

export interface Control {
  readonly id: string;
  readonly framework: 'soc2' | 'hipaa';
  readonly title: string;
  readonly mechanism: string;
  /** Config keys (and bundle files) that turn it on. */
  readonly config: readonly string[];
  readonly evidence: readonly EvidenceItem[];
  readonly tests: readonly ControlTestId[];
}

const sample = (control: string): string => `samples/${control}.jsonl`;
const test = (id: ControlTestId): string => `control-tests/${id}.json`;

export const FILES = {
  matrix: 'control-matrix.json',
  checklist: 'checklist.json',
  diagram: 'identity/identity-flow.svg',
  identity: 'identity/configuration.json',
  chain: 'chain/verification.json',
  policyHistory: 'policy/history.json',
  policyBundle: 'policy/bundle.json',
  retention: 'retention/settings.json',
  inventory: 'inventory/inventory.json',
  inventoryCsv: 'inventory/inventory.csv',
  alerts: 'alerts/volume.json',
  tls: 'tls/audit.json',
  siem: 'siem/sinks.json',
  controlTests: 'control-tests/summary.json',
  stats: 'trail/statistics.json',
  report: 'report.html',
  pdf: 'report.pdf',
  manifest: 'manifest.json',
  signature: 'manifest.sig',
} as const;

export const CONTROLS: readonly Control[] = [
  {
    id: 'CC6.1',
    framework: 'soc2',
    title: 'Logical access: per-user identity, tier separation, authorization at the control plane',
    mechanism:
      'Every call is verified against a configured issuer (JWKS, iss, aud, exp) and decided by Cedar with the human as principal; the tier comes from the credential, never the agent.',
    config: ['identity.issuers', 'policy.bundle | policy.git'],
    evidence: [
      { id: 'cc61-diagram', title: 'Architecture diagram: user → agent → control plane → tool', file: FILES.diagram },
      { id: 'cc61-rows', title: 'Audit rows with user.sub, agent.tier and policy.decision populated', file: sample('CC6.1') },
      {
        id: 'cc61-test',
        title: 'Test: a low-privilege user is denied a high-privilege tool, with the identity in the row',
        file: test('low-privilege-denied'),
      },
    ],
    tests: [CONTROL_TESTS.lowPrivilegeDenied],
  },
  {
    id: 'CC6.6',
    framework: 'soc2',
    title: 'Restriction of data: file-read classification, output redaction, egress monitoring',
    mechanism:
      'The classify stage puts data classes on paths (.env, PHI directories); redact_output replaces secrets and PII with [redacted:TYPE]; egress is allow-listed and hashed.',
    config: ['catalog.yaml classification', 'catalog.yaml redaction', 'catalog.yaml egress'],
    evidence: [
      { id: 'cc66-policy', title: 'Policy showing which paths and patterns trigger classification and redaction', file: FILES.policyBundle },
      { id: 'cc66-rows', title: 'Audit rows with redactions.count > 0 and redactions.types', file: sample('CC6.6') },
      { id: 'cc66-test', title: 'Regression test: .env read back shows [redacted:secret]', file: test('env-redacted') },
    ],
    tests: [CONTROL_TESTS.envRedacted, CONTROL_TESTS.egressDenied],
  },
  {
    id: 'CC7.1',
    framework: 'soc2',
    title: 'Detection of changes: versioned bundles pinned on every row, inventory',
    mechanism:
      'Every row carries policy.bundle_hash; each activation is an admin row; the monitor folds the trail into an inventory with tool-definition drift.',
    config: ['policy', 'monitor.enabled'],
    evidence: [
      { id: 'cc71-rows', title: 'Audit rows with policy.bundle_hash populated', file: sample('CC7.1') },
      { id: 'cc71-changelog', title: 'Policy bundle change log with the trail entries of each version', file: FILES.policyHistory },
      { id: 'cc71-inventory', title: 'Inventory export of agent runtimes and MCP servers, with drift', file: FILES.inventory },
    ],
    tests: [],
  },
  {
    id: 'CC7.2',
    framework: 'soc2',
    title: 'Monitoring: complete audit trail and anomaly alerts',
    mechanism: 'Hash-chained rows for every call; alert rules (deny spikes, tier mismatch, first use, redactions) delivered to alert sinks and the SIEM.',
    config: ['audit.store', 'export.sinks', 'monitor.alerts.sinks'],
    evidence: [
      { id: 'cc72-rows', title: 'Sample rows populated with all required fields', file: sample('CC7.2') },
      { id: 'cc72-siem', title: 'SIEM alert configuration tied to agent telemetry', file: FILES.siem },
      { id: 'cc72-volume', title: 'Recent alert volume report and who acknowledged', file: FILES.alerts },
    ],
    tests: [],
  },
  {
    id: 'CC8.1',
    framework: 'soc2',
    title: 'Change management: signed, two-person-approved bundles, diffs near the change',
    mechanism:
      'Bundles carry Ed25519 approvals (policy.approvers, requiredApprovals); each activation row names author, approvers and hashes; emergency changes are flagged and reviewed.',
    config: ['policy.approvers', 'policy.requiredApprovals', 'policy.allowEmergency'],
    evidence: [
      { id: 'cc81-history', title: 'Reviewed policy change history with approvers and diffs', file: FILES.policyHistory },
      { id: 'cc81-rows', title: 'Audit entries showing policy.bundle_hash shifting at known change times', file: sample('CC8.1') },
      { id: 'cc81-emergency', title: 'Emergency policy changes and their post-hoc review', file: FILES.policyHistory },
    ],
    tests: [],
  },
  {
    id: '164.312(a)(1)',
    framework: 'hipaa',
    title: 'Access control: unique user id, emergency access, automatic logoff',
    mechanism: 'No verified user, no PHI (machine tokens refused as no_user); break-glass grants with a review queue; idle logoff per tier.',
    config: ['identity.issuers', 'identity.emergency', 'identity.sessions.idleTimeoutSec'],
    evidence: [
      { id: 'a1-rows', title: 'Audit row with user.sub on a PHI-tool call', file: sample('164.312(a)(1)') },
      { id: 'a1-idp', title: 'IdP integration and JWT verification keys in use', file: FILES.identity },
      { id: 'a1-test', title: 'Test: no authenticated user → PHI tools denied', file: test('no-user-phi-denied') },
    ],
    tests: [CONTROL_TESTS.noUserPhiDenied],
  },
  {
    id: '164.312(b)',
    framework: 'hipaa',
    title: 'Audit controls: identity-attributed, six-year retention, tamper evidence, exportable',
    mechanism: 'The hash chain with signed checkpoints and external anchors; retention per record class (minimum six years); SIEM export.',
    config: ['audit.retention', 'audit.checkpoints.signingKey', 'export.sinks'],
    evidence: [
      { id: 'b-rows', title: 'Audit row from a PHI-relevant tool call with all required fields', file: sample('164.312(b)') },
      { id: 'b-retention', title: 'Retention policy showing six years or longer', file: FILES.retention },
      { id: 'b-chain', title: 'Hash chain verification report, checkpoints and anchor', file: FILES.chain },
    ],
    tests: [CONTROL_TESTS.tamperedExportDetected],
  },
  {
    id: '164.312(c)(1)',
    framework: 'hipaa',
    title: 'Integrity: writes to ePHI need the interactive tier and confirmation, with before-state',
    mechanism:
      'Bundle forbids writes outside the interactive tier; destructive operations are confirmed by the human; the catalog `before` reads the target first.',
    config: ['policies (forbid writes unless tier == interactive)', 'catalog.yaml before'],
    evidence: [
      { id: 'c1-policy', title: 'Policy entries gating writes to ePHI tools', file: FILES.policyBundle },
      { id: 'c1-rows', title: 'Audit row of a write denied because it was not interactive', file: sample('164.312(c)(1)') },
      { id: 'c1-test', title: 'The two-step confirmation interaction', file: test('interactive-write-confirmed') },
    ],
    tests: [CONTROL_TESTS.backgroundWriteDenied, CONTROL_TESTS.interactiveWriteConfirmed],
  },
  {
    id: '164.312(d)',
    framework: 'hipaa',
    title: 'Person authentication: the clinician, not the agent; delegation chain',
    mechanism: 'JWT signature verified on every call; RFC 8693 delegation records user → agent → sub-agent; revocation and back-channel logout end sessions.',
    config: ['identity.issuers', 'identity.delegation', 'identity.sessions'],
    evidence: [
      { id: 'd-diagram', title: 'Identity propagation through agent chains', file: FILES.diagram },
      { id: 'd-rows', title: 'Audit row with user.sub and agent.delegation_chain', file: sample('164.312(d)') },
      { id: 'd-test', title: "Test: a revoked session's next call is denied", file: test('revoked-session-denied') },
    ],
    tests: [CONTROL_TESTS.revokedSessionDenied, CONTROL_TESTS.sdkFailsClosed],
  },
  {
    id: '164.312(e)(1)',
    framework: 'hipaa',
    title: 'Transmission security: TLS, PHI redacted before model providers, egress allow-list',
    mechanism: 'Secure fetch (TLS ≥ 1.2, pins) on every outbound leg; redact_model; the egress stage denies destinations off the allow-list.',
    config: ['server.tls', 'upstreams[].connection', 'llm.providers', 'catalog.yaml egress'],
    evidence: [
      { id: 'e-tls', title: 'TLS configuration audit (versions, ciphers, validity)', file: FILES.tls },
      { id: 'e-redaction', title: 'Policy entries redacting PHI before model providers', file: FILES.policyBundle },
      { id: 'e-egress', title: 'Egress allow-list and a recent denied-egress row', file: sample('164.312(e)(1)') },
    ],
    tests: [CONTROL_TESTS.egressDenied],
  },
];

/** The crosswalk the playbook names: each clause and the SOC 2 / HIPAA controls whose evidence serves it. */
export const CROSSWALK: ReadonlyArray<{
  readonly framework: Exclude<Framework, 'soc2' | 'hipaa'>;
  readonly clause: string;
  readonly title: string;
  readonly controls: readonly string[];
}> = [
  { framework: 'pci', clause: 'PCI DSS 10.2', title: 'Logging of access to cardholder data', controls: ['CC6.1', 'CC7.2', '164.312(b)'] },
  { framework: 'gdpr', clause: 'GDPR Art. 30', title: 'Records of processing activities', controls: ['CC7.2', '164.312(b)', 'CC6.6'] },
  {
    framework: 'euaiact',
    clause: 'EU AI Act Art. 12',
    title: 'Logging for high-risk AI systems (operating period + six months)',
    controls: ['CC7.2', '164.312(b)', 'CC7.1'],
  },
  { framework: 'nist', clause: 'NIST AI RMF MEASURE 2.7', title: 'Logged AI system events', controls: ['CC7.2', 'CC7.1', '164.312(b)'] },
];

/** The controls a pack of this framework covers. */
export function controlsOf(framework: Framework): readonly Control[] {
  if (framework === 'soc2' || framework === 'hipaa') return CONTROLS.filter((c) => c.framework === framework);
  const ids = new Set(CROSSWALK.filter((x) => x.framework === framework).flatMap((x) => x.controls));
  return CONTROLS.filter((c) => ids.has(c.id));
}

/** The one-page checklist, in the playbook's order. */
export const CHECKLIST: ReadonlyArray<{ readonly id: string; readonly section: string; readonly title: string }> = [
  ['Identity', 'Every AI agent call carries a verified end-user JWT, not a shared API key'],
  ['Identity', 'JWTs are verified at the control plane (signature + issuer + expiration)'],
  ['Identity', 'Identity propagates to every tool call the agent makes, including sub-agents'],
  ['Identity', 'Tier (interactive / subagent / background / API) is captured per call'],
  ['Policy', 'Tool-call policies are versioned and stored in git (or equivalent)'],
  ['Policy', 'Policy bundles are pinned by hash on every audit row'],
  ['Policy', 'Two-person review for production policy changes'],
  ['Policy', 'Tier-aware rules for irreversible operations'],
  ['Audit trail', 'Identity, agent name, tier, tool, decision, policy version on every row'],
  ['Audit trail', 'Inputs and outputs captured (redacted) and tied to a single request ID'],
  ['Audit trail', 'Retention meets the strictest framework (HIPAA: 6 years)'],
  ['Audit trail', 'Tamper-evidence (hash chain or external immutable sink)'],
  ['Audit trail', 'SIEM export with documented schema'],
  ['Redaction & integrity', 'PII / PHI patterns redacted before they reach model providers'],
  ['Redaction & integrity', 'Egress destinations allow-listed'],
  ['Redaction & integrity', 'Write operations to sensitive systems require interactive-tier confirmation'],
  ['Operations', 'Failure mode (control plane unreachable) is fail-closed and tested'],
  ['Operations', 'Anomaly alerts (deny spikes, identity-tier mismatches) are wired into your SIEM'],
  ['Operations', 'Inventory of agent runtimes and MCP servers is current'],
].map(([section, title], i) => ({ id: `box-${String(i + 1).padStart(2, '0')}`, section: section!, title: title! }));
