/**
 * Redaction as policy: the bundle's `redaction:` section picks the detectors for each call
 * (by tool, tier and destination), adds custom patterns and allow-lists values. A text
 * redactor is compiled once per distinct selection and cached with the policy object.
 */
import { CustosError } from '../kernel/index.js';
import type { RedactionPolicy, RedactionRule, RedactOptions, ToolRef } from '../kernel/index.js';
import type { DetectorSpec } from './detector.js';
import { checkCustomPatterns, customDetector } from './custom-pattern.js';
import { DETECTORS, selects } from './detectors.js';
import { createTextRedactor } from './redact-text.js';
import type { TextRedactor, TextRedactorOptions } from './redact-text.js';

interface CompiledPolicy {
  readonly customs: readonly DetectorSpec[];
  readonly redactors: Map<string, TextRedactor>;
}

const compiled = new WeakMap<RedactionPolicy, CompiledPolicy>();

/** Every problem with a redaction section: unknown detector names, unsafe or invalid patterns, duplicate ids. */
export function checkRedactionPolicy(policy: RedactionPolicy): string[] {
  const problems = checkCustomPatterns(policy.patterns);
  const customIds = new Set<string>();
  for (const p of policy.patterns) {
    if (customIds.has(p.id)) problems.push(`redaction.patterns.${p.id}: duplicate id`);
    customIds.add(p.id);
  }
  const known = (name: string): boolean => (name.startsWith('custom:') ? customIds.has(name.slice(7)) : DETECTORS.some((d) => selects(d, name)));
  const names = [...policy.detectors, ...policy.rules.flatMap((r) => [...(r.enable ?? []), ...(r.disable ?? [])])];
  for (const name of names) if (!known(name)) problems.push(`redaction: unknown detector "${name}"`);
  return problems;
}

/** Throws ERR_POLICY_BUNDLE_INVALID listing every problem of a bundle's redaction section. */
export function assertRedactionPolicy(policy: RedactionPolicy): void {
  const problems = checkRedactionPolicy(policy);
  if (problems.length > 0)
    throw new CustosError('ERR_POLICY_BUNDLE_INVALID', `Policy bundle is invalid (${problems.length} redaction problem(s)): ${problems.join('; ')}`, {
      detail: { problems },
    });
}

function toolMatches(glob: string, tool: ToolRef): boolean {
  const [server, name = ''] = glob.split('/');
  if (server !== tool.server) return false;
  const parts = name.split('*');
  if (parts.length === 1) return name === tool.name;
  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const at = i === 0 ? (tool.name.startsWith(part) ? 0 : -1) : tool.name.indexOf(part, pos);
    if (at < 0) return false;
    pos = at + part.length;
  }
  return parts[parts.length - 1] === '' || tool.name.endsWith(parts[parts.length - 1]!);
}

function ruleApplies(rule: RedactionRule, options: RedactOptions): boolean {
  if (rule.tools && !(options.tool && rule.tools.some((g) => toolMatches(g, options.tool!)))) return false;
  if (rule.tiers && !(options.tier !== undefined && rule.tiers.includes(options.tier))) return false;
  if (rule.destinations && !(options.destination && rule.destinations.includes(options.destination))) return false;
  return true;
}

/** The ids of the detectors on for this call: the defaults and every custom pattern, then each matching rule in order. */
export function selectedIds(policy: RedactionPolicy, customs: readonly DetectorSpec[], options: RedactOptions): string[] {
  const all = [...DETECTORS, ...customs];
  const on = new Set(DETECTORS.filter((d) => policy.detectors.some((n) => selects(d, n))).map((d) => d.id));
  for (const c of customs) on.add(c.id);
  const pick = (name: string): string[] => all.filter((d) => d.id === name || (!name.startsWith('custom:') && selects(d, name))).map((d) => d.id);
  for (const rule of policy.rules) {
    if (!ruleApplies(rule, options)) continue;
    for (const n of rule.enable ?? []) for (const id of pick(n)) on.add(id);
    for (const n of rule.disable ?? []) for (const id of pick(n)) on.delete(id);
  }
  return all.filter((d) => on.has(d.id)).map((d) => d.id);
}

function compile(policy: RedactionPolicy): CompiledPolicy {
  let entry = compiled.get(policy);
  if (!entry) {
    assertRedactionPolicy(policy);
    entry = { customs: policy.patterns.map(customDetector), redactors: new Map() };
    compiled.set(policy, entry);
  }
  return entry;
}

/** The text redactor for a call under a bundle's redaction policy (compiled once per selection). */
export function redactorForPolicy(policy: RedactionPolicy, options: RedactOptions, base: TextRedactorOptions): TextRedactor {
  const entry = compile(policy);
  const ids = selectedIds(policy, entry.customs, options);
  const key = ids.join(',');
  let redactor = entry.redactors.get(key);
  if (!redactor) {
    const byId = new Map([...DETECTORS, ...entry.customs].map((d) => [d.id, d]));
    redactor = createTextRedactor(
      ids.map((id) => byId.get(id)!),
      { ...base, allow: [...(base.allow ?? []), ...policy.allow] },
    );
    entry.redactors.set(key, redactor);
  }
  return redactor;
}
