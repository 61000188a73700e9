import { beforeAll, describe, expect, it } from 'vitest';
import type { ActivePolicy, DecisionInput } from '../kernel/index.js';
import { loadBundle } from './index.js';
import type { LoadedBundle } from './index.js';
import { QUICKSTART_BUNDLE, makeInput } from './bundles.test-support.js';
import type { InputOptions } from './bundles.test-support.js';

let bundle: LoadedBundle;
let policy: ActivePolicy;

const ALICE = { sub: 'alice', roles: ['clinician'] };
const BOB = { sub: 'bob', roles: ['billing'] };

/** Builds an input whose tool classes come from the bundle's own catalog, as the pipeline does. */
function input(o: InputOptions): DecisionInput {
  const tool = { server: o.server ?? 'filesystem', name: o.tool ?? 'read_text_file' };
  return makeInput({ ...o, toolClasses: [...policy.classifyTool(tool).classes] });
}

beforeAll(async () => {
  bundle = await loadBundle(QUICKSTART_BUNDLE);
  policy = bundle.policy;
});

describe('quick-start bundle', () => {
  it('loads with every policy keyed by its @id and a hex bundle hash', () => {
    expect(bundle.bundleHash).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.policyIds).toEqual([
      'clinician-destructive-confirm',
      'clinician-list-write-tools',
      'clinician-phi-write-confirm',
      'clinician-write',
      'emergency-read',
      'phi-requires-clinician',
      'staff-read-filesystem',
      'write-requires-interactive-tier',
    ]);
    expect(bundle.manifest.map((m) => m.path)).toContain('policies/guards.cedar');
    expect(policy.classificationRules).toEqual([{ dataClass: 'phi', paths: ['**/phi/**'] }]);
  });

  it('lets alice (clinician) read a phi note', () => {
    const d = policy.decide(input({ ...ALICE, dataClasses: ['phi'] }));
    expect(d).toEqual({
      decision: 'allow',
      reasons: ['staff_may_read'],
      bundleHash: bundle.bundleHash,
      determiningPolicies: ['staff-read-filesystem'],
    });
  });

  it('denies bob (billing) a phi note, naming the forbid', () => {
    const d = policy.decide(input({ ...BOB, dataClasses: ['phi'] }));
    expect(d.decision).toBe('deny');
    expect(d.reasons).toEqual(['phi_requires_clinician']);
    expect(d.determiningPolicies).toEqual(['phi-requires-clinician']);
    expect(d.bundleHash).toBe(bundle.bundleHash);
  });

  it('lets bob read a non-phi file and read secret_file data (the redactor handles values)', () => {
    expect(policy.decide(input({ ...BOB })).decision).toBe('allow');
    expect(policy.decide(input({ ...BOB, tool: 'read_multiple_files', dataClasses: ['secret_file'] })).decision).toBe('allow');
    expect(policy.decide(input({ ...BOB, action: 'list_tool', tool: 'directory_tree' })).decision).toBe('allow');
  });

  it('denies users with no staff role', () => {
    const d = policy.decide(input({ sub: 'mallory', roles: ['contractor'] }));
    expect(d).toMatchObject({ decision: 'deny', reasons: ['no_policy_allows'], determiningPolicies: [] });
  });

  it("holds alice's interactive write to ePHI for confirmation (164.312(c)(1)); bob is still denied", () => {
    for (const tool of ['write_file', 'edit_file']) {
      expect(policy.decide(input({ ...ALICE, tool, dataClasses: ['phi'] })), tool).toMatchObject({
        decision: 'confirm',
        reasons: ['phi_write_requires_confirmation'],
        determiningPolicies: ['clinician-phi-write-confirm'],
      });
    }
    expect(policy.decide(input({ ...BOB, tool: 'write_file', dataClasses: ['phi'] })).decision).toBe('deny');
    expect(policy.decide(input({ ...ALICE, tool: 'write_file', tier: 'background', dataClasses: ['phi'] })).reasons).toEqual([
      'write_requires_interactive_tier',
    ]);
  });

  it('lets alice write interactively and denies writes in any other tier', () => {
    expect(policy.decide(input({ ...ALICE, tool: 'write_file' }))).toMatchObject({
      decision: 'allow',
      determiningPolicies: ['clinician-write'],
    });
    for (const tier of ['subagent', 'background', 'api'] as const) {
      for (const tool of ['write_file', 'edit_file', 'create_directory', 'move_file']) {
        const d = policy.decide(input({ ...ALICE, tool, tier }));
        expect(d.decision, `${tool} in ${tier}`).toBe('deny');
        expect(d.reasons).toEqual(['write_requires_interactive_tier']);
      }
    }
    const listed = policy.decide(input({ ...ALICE, action: 'list_tool', tool: 'write_file', tier: 'background' }));
    expect(listed.decision).toBe('deny');
  });

  it('denies bob every write, even interactively', () => {
    for (const tool of ['write_file', 'edit_file', 'create_directory', 'move_file']) {
      expect(policy.decide(input({ ...BOB, tool })).decision, tool).toBe('deny');
    }
  });

  it('asks for confirmation before move_file, but lists it plainly', () => {
    const d = policy.decide(input({ ...ALICE, tool: 'move_file' }));
    expect(d).toMatchObject({
      decision: 'confirm',
      reasons: ['destructive_requires_confirmation'],
      determiningPolicies: ['clinician-destructive-confirm'],
    });
    expect(policy.decide(input({ ...ALICE, action: 'list_tool', tool: 'move_file' })).decision).toBe('allow');
  });

  it('denies an unknown tool with no_policy_allows', () => {
    expect(policy.classifyTool({ server: 'filesystem', name: 'format_disk' }).classes).toEqual(['unclassified']);
    const d = policy.decide(input({ ...ALICE, tool: 'format_disk' }));
    expect(d).toMatchObject({ decision: 'deny', reasons: ['no_policy_allows'], determiningPolicies: [] });
    expect(policy.decide(input({ ...ALICE, server: 'other', tool: 'read_file' })).decision).toBe('deny');
  });

  it('classifies every filesystem tool', () => {
    const read = ['read_file', 'read_text_file', 'read_media_file', 'read_multiple_files', 'list_directory'];
    read.push('list_directory_with_sizes', 'directory_tree', 'search_files', 'get_file_info', 'list_allowed_directories');
    for (const name of read) expect(policy.classifyTool({ server: 'filesystem', name }).classes, name).toEqual(['read']);
    for (const name of ['write_file', 'edit_file', 'create_directory']) {
      expect(policy.classifyTool({ server: 'filesystem', name }).classes).toEqual(['writes']);
    }
    expect(policy.classifyTool({ server: 'filesystem', name: 'move_file' }).classes).toEqual(['destructive', 'writes']);
  });

  it('lets a break-glass holder read phi only while a grant is open (emergency), and nobody else', () => {
    const DANA = { sub: 'dana', roles: ['break-glass'] };
    expect(policy.decide(input({ ...DANA, dataClasses: ['phi'] }))).toMatchObject({ decision: 'deny', reasons: ['phi_requires_clinician'] });
    const d = policy.decide({ ...input({ ...DANA, dataClasses: ['phi'] }), emergency: true });
    expect(d).toMatchObject({ decision: 'allow', reasons: ['emergency_access'], determiningPolicies: ['emergency-read'] });
    expect(policy.decide({ ...input({ ...BOB, dataClasses: ['phi'] }), emergency: true }).decision).toBe('deny');
    expect(policy.decide({ ...input({ ...DANA, tool: 'write_file' }), emergency: true }).decision).toBe('deny');
  });

  it('declares where calls name tenants', () => {
    expect(policy.tenancyRules).toEqual({ arguments: ['tenant'], paths: ['**/tenants/{tenant}/**'] });
  });
});
