/** Helpers for this module's tests: temp bundles and decision inputs. Not exported from index.ts. */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as stringifyYaml } from 'yaml';
import type { DecisionInput, PolicyAction, Tier } from '../kernel/index.js';
import { signBundleHash, writeApproval } from './approvals.js';
import { computeBundleHash } from './bundle-hash.js';

/** The repository's quick-start bundle, from the sources or from their compiled copy in dist-bench/. */
function repoRootFrom(dir: string): string {
  return existsSync(join(dir, 'package.json')) || dirname(dir) === dir ? dir : repoRootFrom(dirname(dir));
}
export const QUICKSTART_BUNDLE = join(repoRootFrom(dirname(fileURLToPath(import.meta.url))), 'examples/quickstart/policy');

export const MIN_SCHEMA = `namespace Custos {
  entity User = { roles: Set<String>, groups: Set<String>, tenant: String, iss: String };
  entity Tool = { server: String, name: String, classes: Set<String> };
  type CallContext = { tier: String, agent: String, delegation_depth: Long, data_classes: Set<String>, emergency: Bool };
  action call_tool, list_tool, read_resource, get_prompt, sample, model_request
    appliesTo { principal: User, resource: Tool, context: CallContext };
}
`;

export const MIN_CATALOG = 'tools:\n  demo/read: { classes: [read] }\n';

/** Writes a bundle into a fresh temp dir: path → content. Defaults fill schema and catalog. */
export async function writeBundle(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'custos-bundle-'));
  const all: Record<string, string> = { 'schema.cedarschema': MIN_SCHEMA, 'catalog.yaml': MIN_CATALOG, ...files };
  for (const [path, content] of Object.entries(all)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

/** Copies the quick-start bundle into a temp dir (to change bytes without touching the original). */
export async function copyQuickstart(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'custos-qs-'));
  await cp(QUICKSTART_BUNDLE, dir, { recursive: true });
  return dir;
}

export interface InputOptions {
  readonly action?: PolicyAction;
  readonly sub?: string;
  readonly roles?: string[];
  readonly server?: string;
  readonly tool?: string;
  readonly toolClasses?: string[];
  readonly dataClasses?: string[];
  readonly tier?: Tier;
  readonly chain?: string[];
}

export function makeInput(o: InputOptions = {}): DecisionInput {
  const sub = o.sub ?? 'alice';
  return {
    action: o.action ?? 'call_tool',
    principal: { sub, iss: 'http://127.0.0.1:8786', roles: o.roles ?? ['clinician'], groups: [] },
    agent: { name: 'test-agent', tier: o.tier ?? 'interactive', delegationChain: o.chain ?? [`user:${sub}`, 'agent:test-agent'] },
    tool: { server: o.server ?? 'filesystem', name: o.tool ?? 'read_text_file' },
    toolClasses: o.toolClasses ?? ['read'],
    dataClasses: o.dataClasses ?? [],
  };
}

/** An approver's Ed25519 key pair (PEM) for tests. */
export interface TestApprover {
  readonly id: string;
  readonly publicKey: string;
  readonly privateKey: string;
}

export function makeApprover(id: string): TestApprover {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    id,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Signs the bundle in `dir` as each approver (`.approvals/ID.sig`); returns its hash. */
export async function approveBundle(dir: string, ...approvers: TestApprover[]): Promise<string> {
  const { bundleHash } = await computeBundleHash(dir);
  for (const a of approvers) await writeApproval(dir, a.id, signBundleHash(bundleHash, a.privateKey));
  return bundleHash;
}

/** Writes `bundle.yaml` into a bundle dir. */
export async function writeManifest(dir: string, fields: Record<string, unknown>): Promise<void> {
  await writeFile(join(dir, 'bundle.yaml'), stringifyYaml(fields));
}
