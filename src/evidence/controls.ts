/**
 * The playbook's controls as data (README.md), kept in `controls.json`: each SOC 2 and
 * HIPAA control with the Custos mechanism that satisfies it, the configuration that turns it on,
 * the evidence items an auditor asks for (each a file of the pack), and the live control tests
 * that exercise it; the crosswalk to PCI DSS, GDPR, the EU AI Act and NIST AI RMF; the nineteen
 * checklist boxes. This file types the data and checks it on load (`parseControlMap`).
 */
import { z } from 'zod';
import { CustosError } from '../kernel/index.js';
import data from './controls.json' with { type: 'json' };

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

export interface CrosswalkEntry {
  readonly framework: Exclude<Framework, 'soc2' | 'hipaa'>;
  readonly clause: string;
  readonly title: string;
  readonly controls: readonly string[];
}

export interface ChecklistBox {
  readonly id: string;
  readonly section: string;
  readonly title: string;
}

export interface ControlMap {
  readonly controls: readonly Control[];
  readonly crosswalk: readonly CrosswalkEntry[];
  /** The one-page checklist, in the playbook's order: `box-01` … `box-19`. */
  readonly checklist: readonly ChecklistBox[];
}

const text = z.string().min(1);
const testIds = Object.values(CONTROL_TESTS) as [ControlTestId, ...ControlTestId[]];
const schema = z.strictObject({
  controls: z
    .array(
      z.strictObject({
        id: text,
        framework: z.enum(['soc2', 'hipaa']),
        title: text,
        mechanism: text,
        config: z.array(text).min(1),
        evidence: z.array(z.strictObject({ id: text, title: text, file: text })).min(1),
        tests: z.array(z.enum(testIds)),
      }),
    )
    .min(1),
  crosswalk: z.array(z.strictObject({ framework: z.enum(['pci', 'gdpr', 'euaiact', 'nist']), clause: text, title: text, controls: z.array(text).min(1) })),
  checklist: z.array(z.strictObject({ section: text, title: text })).length(19),
});

/** Checks the control map: its shape, unique ids, every evidence file one the pack writes, every crosswalk control known. */
export function parseControlMap(input: unknown): ControlMap {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new CustosError('ERR_INTERNAL', `controls.json: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const { controls, crosswalk, checklist } = parsed.data;
  const problems: string[] = [];
  const packFiles = new Set<string>([...Object.values(FILES), ...testIds.map((id) => `control-tests/${id}.json`)]);
  const seen = new Set<string>();
  for (const c of controls) {
    if (seen.has(c.id)) problems.push(`control ${c.id} appears twice`);
    seen.add(c.id);
    for (const e of c.evidence) {
      if (seen.has(e.id)) problems.push(`evidence id ${e.id} appears twice`);
      seen.add(e.id);
      if (!packFiles.has(e.file) && e.file !== `samples/${c.id}.jsonl`) problems.push(`${c.id} ${e.id}: ${e.file} is not a file the pack writes`);
    }
  }
  for (const x of crosswalk) for (const id of x.controls) if (!controls.some((c) => c.id === id)) problems.push(`${x.clause} names unknown control ${id}`);
  if (problems.length) throw new CustosError('ERR_INTERNAL', `controls.json: ${problems.join('; ')}`);
  return { controls, crosswalk, checklist: checklist.map((b, i) => ({ id: `box-${String(i + 1).padStart(2, '0')}`, ...b })) };
}

const MAP = parseControlMap(data);
export const CONTROLS: readonly Control[] = MAP.controls;
/** The crosswalk the playbook names: each clause and the SOC 2 / HIPAA controls whose evidence serves it. */
export const CROSSWALK: readonly CrosswalkEntry[] = MAP.crosswalk;
export const CHECKLIST: readonly ChecklistBox[] = MAP.checklist;

/** The controls a pack of this framework covers. */
export function controlsOf(framework: Framework): readonly Control[] {
  if (framework === 'soc2' || framework === 'hipaa') return CONTROLS.filter((c) => c.framework === framework);
  const ids = new Set(CROSSWALK.filter((x) => x.framework === framework).flatMap((x) => x.controls));
  return CONTROLS.filter((c) => ids.has(c.id));
}
