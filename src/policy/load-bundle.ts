/**
 * Loads a policy bundle directory: reads every file once, hashes the manifest, parses
 * and validates the Cedar schema and policies and the tool catalog. Every problem is
 * collected and thrown together as ERR_POLICY_BUNDLE_INVALID.
 */
import { resolve } from 'node:path';
import { CustosError } from '../kernel/index.js';
import { digestBundleFiles, readBundleFiles } from './bundle-hash.js';
import type { BundleFile } from './bundle-hash.js';
import { checkSchemaShape, parsePolicyFiles, validatePolicies } from './cedar-load.js';
import { createToolClassifier, createToolLookup, listFailOpenTools, parseCatalog } from './catalog.js';
import { DEFAULT_MANIFEST, MANIFEST_FILE, parseManifest } from './manifest.js';
import { TEST_FILE, parseTestFile } from './bundle-tests.js';
import type { BundleTestCase } from './bundle-tests.js';
import { createCedarPolicy } from './evaluate.js';
import { toRedactionPolicy } from './redaction.js';
import { toTenancyRules } from './tenancy.js';
import { toEgressRules } from './egress.js';
import type { LoadedBundle } from './types.js';

export const SCHEMA_FILE = 'schema.cedarschema';
export const CATALOG_FILE = 'catalog.yaml';
export const POLICY_FILE = /^policies\/[^/]+\.cedar$/;

const decoder = new TextDecoder('utf-8', { fatal: true });

function decodeText(file: BundleFile, problems: string[]): string | null {
  try {
    return decoder.decode(file.bytes);
  } catch {
    problems.push(`${file.path}: not valid UTF-8`);
    return null;
  }
}

function invalid(problems: readonly string[]): CustosError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new CustosError('ERR_POLICY_BUNDLE_INVALID', `Policy bundle is invalid (${count}): ${problems.join('; ')}`, {
    detail: { problems: [...problems] },
  });
}

/** Loads, hashes and validates a bundle; throws ERR_POLICY_BUNDLE_INVALID listing every problem. */
export async function loadBundle(dir: string): Promise<LoadedBundle> {
  const root = resolve(dir);
  const read = await readBundleFiles(root);
  const problems = [...read.problems];
  const byPath = new Map(read.files.map((f) => [f.path, f]));
  const textOf = (path: string): string | null => {
    const file = byPath.get(path);
    if (!file) {
      problems.push(`${path}: missing`);
      return null;
    }
    return decodeText(file, problems);
  };

  const schemaText = textOf(SCHEMA_FILE);
  const catalogText = textOf(CATALOG_FILE);
  const policyFiles: { path: string; text: string }[] = [];
  for (const file of read.files) {
    if (!POLICY_FILE.test(file.path)) continue;
    const text = decodeText(file, problems);
    if (text !== null) policyFiles.push({ path: file.path, text });
  }
  if (policyFiles.length === 0 && read.problems.length === 0) problems.push('policies/*.cedar: no policy files');

  const schemaProblems = schemaText === null ? [] : checkSchemaShape(schemaText);
  problems.push(...schemaProblems);
  const parsed = parsePolicyFiles(policyFiles);
  problems.push(...parsed.problems);
  if (schemaText !== null && schemaProblems.length === 0 && parsed.policies.length > 0) {
    problems.push(...validatePolicies(schemaText, parsed.policies, new Map(policyFiles.map((f) => [f.path, f.text]))));
  }
  const catalog = catalogText === null ? null : parseCatalog(catalogText, CATALOG_FILE);
  problems.push(...(catalog?.problems ?? []));
  const manifestFile = byPath.get(MANIFEST_FILE);
  const manifestText = manifestFile ? decodeText(manifestFile, problems) : null;
  const parsedManifest = manifestText === null ? { manifest: DEFAULT_MANIFEST, problems: [] } : parseManifest(manifestText);
  problems.push(...parsedManifest.problems);
  const info = parsedManifest.manifest ?? DEFAULT_MANIFEST;
  const tests: BundleTestCase[] = [];
  for (const file of read.files) {
    const text = TEST_FILE.test(file.path) ? decodeText(file, problems) : null;
    if (text === null) continue;
    const parsedTests = parseTestFile(text, file.path);
    problems.push(...parsedTests.problems);
    tests.push(...parsedTests.cases);
  }

  if (problems.length > 0 || !catalog?.catalog) throw invalid(problems);
  const { bundleHash, manifest } = digestBundleFiles(read.files);
  const lookup = createToolLookup(catalog.catalog);
  const policy = createCedarPolicy({
    bundleHash,
    info,
    requiredScopes: (tool) => [...new Set(lookup(tool).flatMap((e) => e.scopes ?? []))].sort(),
    policies: parsed.policies,
    classifyTool: createToolClassifier(catalog.catalog),
    classificationRules: catalog.catalog.classification,
    tenancyRules: toTenancyRules(catalog.catalog.tenancy),
    redaction: toRedactionPolicy(catalog.catalog.redaction),
    egress: toEgressRules(catalog.catalog.egress),
    failOpenTools: listFailOpenTools(catalog.catalog),
    beforeStateOf: (tool) => lookup(tool).find((e) => e.before)?.before,
  });
  return Object.freeze({
    dir: root,
    bundleHash,
    manifest,
    policy,
    policyIds: parsed.policies.map((p) => p.id).sort(),
    policies: parsed.policies,
    info,
    catalog: catalog.catalog,
    tests,
  });
}
