/**
 * A bundle's own test cases (`tests/*.yaml`), like `opa test`: each case is a request and the
 * decision it expects. The tool's classes come from the bundle's catalog, as in the pipeline.
 * Format: docs/policy-bundles.md#tests.
 */
import { z } from 'zod';
import { TIERS } from '../kernel/index.js';
import type { ActivePolicy, DecisionInput, DecisionValue } from '../kernel/index.js';
import { parseYamlFile } from './yaml-check.js';

export const TEST_FILE = /^tests\/[^/]+\.ya?ml$/;

const strings = z.array(z.string().min(1)).default([]);

const caseSchema = z.strictObject({
  name: z.string().min(1),
  principal: z.strictObject({ sub: z.string().min(1), roles: strings, groups: strings, tenant: z.string().optional(), iss: z.string().default('test') }),
  tool: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'must be "server/name"'),
  action: z.enum(['call_tool', 'list_tool', 'read_resource', 'get_prompt', 'sample', 'model_request']).default('call_tool'),
  tier: z.enum(TIERS).default('interactive'),
  agent: z.string().default('test-agent'),
  delegation_depth: z.number().int().min(1).max(16).default(1),
  data_classes: strings,
  resource_tenants: strings,
  scopes: strings,
  emergency: z.boolean().default(false),
  expect: z.enum(['allow', 'deny', 'confirm']),
});

const fileSchema = z.strictObject({ cases: z.array(caseSchema).min(1) });

export type BundleTestCase = z.infer<typeof caseSchema> & { readonly file: string };

export function parseTestFile(text: string, file: string): { readonly cases: readonly BundleTestCase[]; readonly problems: readonly string[] } {
  const { value, problems } = parseYamlFile(text, file, fileSchema);
  const cases = value?.cases.map((c) => ({ ...c, file })) ?? [];
  const seen = new Set<string>();
  const dupes = cases.filter((c) => (seen.has(c.name) ? true : (seen.add(c.name), false))).map((c) => `${file}: duplicate case name "${c.name}"`);
  return { cases, problems: [...problems, ...dupes] };
}

export interface TestResult {
  readonly file: string;
  readonly name: string;
  readonly expected: DecisionValue;
  readonly actual: DecisionValue;
  readonly reasons: readonly string[];
  readonly passed: boolean;
}

/** What the tests need of a loaded bundle. */
export interface TestableBundle {
  readonly policy: ActivePolicy;
  readonly tests: readonly BundleTestCase[];
}

function inputOf(c: BundleTestCase, bundle: TestableBundle): DecisionInput {
  const [server = '', ...rest] = c.tool.split('/');
  const tool = { server, name: rest.join('/') };
  const chain = [`user:${c.principal.sub}`, ...Array.from({ length: c.delegation_depth }, (_, i) => `agent:${i === 0 ? c.agent : `${c.agent}-${i}`}`)];
  return {
    action: c.action,
    principal: {
      sub: c.principal.sub,
      iss: c.principal.iss,
      roles: c.principal.roles,
      groups: c.principal.groups,
      ...(c.principal.tenant ? { tenant: c.principal.tenant } : {}),
    },
    agent: { name: c.agent, tier: c.tier, delegationChain: chain },
    tool,
    toolClasses: bundle.policy.classifyTool(tool).classes,
    dataClasses: c.data_classes,
    resourceTenants: c.resource_tenants,
    emergency: c.emergency,
    scopes: { user: c.scopes, delegated: c.scopes, effective: c.scopes },
  };
}

/** Runs every case of the bundle; the results in file order. */
export function runBundleTests(bundle: TestableBundle): TestResult[] {
  return bundle.tests.map((c) => {
    const d = bundle.policy.decide(inputOf(c, bundle));
    return { file: c.file, name: c.name, expected: c.expect, actual: d.decision, reasons: d.reasons, passed: d.decision === c.expect };
  });
}
