/**
 * Parsing and validation of a bundle's Cedar text at load: policies split per file,
 * keyed by their `@id` annotation, validated (strict) against the bundle schema.
 */
import { policySetTextToParts, policyToJson, schemaToJson, validate } from '@cedar-policy/cedar-wasm/nodejs';
import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import type { BundlePolicy } from './types.js';

export const CEDAR_NAMESPACE = 'Custos';

/** Attributes Custos supplies on each entity; a schema may declare no others (they would be absent at run time). */
export const SUPPLIED_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  User: ['roles', 'groups', 'tenant', 'iss'],
  Tool: ['server', 'name', 'classes'],
};

const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/**
 * `file:line:col: message` for a Cedar error. Its locations are offsets into the text
 * Cedar was given, which starts at `base` in the file `text`.
 */
function describeError(file: string, text: string, err: DetailedError, base = 0, prefix = ''): string {
  const at = err.sourceLocations?.[0];
  if (!at) return `${file}: ${prefix}${err.message}`;
  const before = text.slice(0, base + at.start).split('\n');
  const line = before.length;
  const col = (before[before.length - 1]?.length ?? 0) + 1;
  const label = at.label ? ` (${at.label})` : '';
  return `${file}:${line}:${col}: ${prefix}${err.message}${label}`;
}

export interface PolicyParse {
  readonly policies: readonly BundlePolicy[];
  readonly problems: readonly string[];
}

/** Splits each policy file into policies and reads their annotations. */
export function parsePolicyFiles(files: readonly { path: string; text: string }[]): PolicyParse {
  const policies: BundlePolicy[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { path, text } of files) {
    const parts = policySetTextToParts(text);
    if (parts.type === 'failure') {
      problems.push(...parts.errors.map((e) => describeError(path, text, e)));
      continue;
    }
    if (parts.policy_templates.length > 0) problems.push(`${path}: templates are not supported in a bundle`);
    let cursor = 0;
    parts.policies.forEach((policyText, index) => {
      const found = text.indexOf(policyText, cursor);
      const offset = found >= 0 ? found : 0;
      cursor = found >= 0 ? found + policyText.length : cursor;
      const parsed = policyToJson(policyText);
      if (parsed.type === 'failure') {
        problems.push(...parsed.errors.map((e) => describeError(path, text, e, offset)));
        return;
      }
      const notes = parsed.json.annotations ?? {};
      const id = notes['id'];
      if (id === undefined || id === '') {
        problems.push(`${path}: policy #${index + 1} has no @id("...") annotation`);
        return;
      }
      if (!POLICY_ID.test(id)) problems.push(`${path}: @id("${id}") must match ${POLICY_ID.source}`);
      const first = seen.get(id);
      if (first !== undefined) {
        problems.push(`${path}: duplicate @id("${id}") (first in ${first})`);
        return;
      }
      seen.set(id, path);
      const confirm = notes['confirm'];
      if (confirm !== undefined && confirm !== 'true' && confirm !== 'false') {
        problems.push(`${path}: @confirm on "${id}" must be "true" or "false"`);
      }
      const reason = notes['reason'];
      policies.push({ id, file: path, offset, text: policyText, reason: reason ? reason : id, confirm: confirm === 'true' });
    });
  }
  return { policies, problems };
}

/** Strict validation of every policy against the schema; problems name the file and the policy. */
export function validatePolicies(schemaText: string, policies: readonly BundlePolicy[], fileTexts: ReadonlyMap<string, string>): string[] {
  const byId = new Map(policies.map((p) => [p.id, p]));
  const answer = validate({
    schema: schemaText,
    policies: { staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') return answer.errors.map((e) => describeError('schema.cedarschema', schemaText, e));
  return answer.validationErrors.map((v) => {
    const policy = byId.get(v.policyId);
    if (!policy) return `policy "${v.policyId}": ${v.error.message}`;
    const fileText = fileTexts.get(policy.file);
    const prefix = `policy "${policy.id}": `;
    if (fileText === undefined) return describeError(policy.file, policy.text, v.error, 0, prefix);
    return describeError(policy.file, fileText, v.error, policy.offset, prefix);
  });
}

/** Attribute names of a record type, following one common-type reference (`entity User = UserShape`). */
function recordAttributes(shape: unknown, commonTypes: Record<string, unknown>): string[] {
  if (typeof shape !== 'object' || shape === null) return [];
  const record = shape as { attributes?: unknown; name?: unknown };
  if (typeof record.attributes === 'object' && record.attributes !== null) return Object.keys(record.attributes);
  if (typeof record.name === 'string' && record.name in commonTypes) {
    return recordAttributes(commonTypes[record.name], {});
  }
  return [];
}

/** Checks the schema parses and describes the Custos entities with only the attributes Custos supplies. */
export function checkSchemaShape(schemaText: string): string[] {
  const answer = schemaToJson(schemaText);
  if (answer.type === 'failure') return answer.errors.map((e) => describeError('schema.cedarschema', schemaText, e));
  const ns = answer.json[CEDAR_NAMESPACE];
  if (!ns) return [`schema.cedarschema: namespace ${CEDAR_NAMESPACE} is not declared`];
  const problems: string[] = [];
  for (const [entity, supplied] of Object.entries(SUPPLIED_ATTRIBUTES)) {
    const type = ns.entityTypes[entity];
    if (!type) {
      problems.push(`schema.cedarschema: entity ${CEDAR_NAMESPACE}::${entity} is not declared`);
      continue;
    }
    const shape = 'shape' in type ? type.shape : undefined;
    const attrs = recordAttributes(shape, ns.commonTypes ?? {});
    for (const attr of attrs) {
      if (!supplied.includes(attr)) {
        problems.push(`schema.cedarschema: ${entity}.${attr} is not an attribute Custos supplies (${supplied.join(', ')})`);
      }
    }
  }
  return problems;
}
