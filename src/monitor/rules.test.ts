import { describe, expect, it } from 'vitest';
import { buildAuthFailureRow, buildDenyRow, buildIntentRow, buildResultRow } from '../kernel/index.js';
import type { AuditEntry, AuditRecord, RowSubject } from '../kernel/index.js';
import { createAlertRules } from './rules.js';
import { DEFAULT_RULE_SETTINGS } from './types.js';
import type { RaisedMonitorAlert } from './types.js';

const MINUTE = 60_000;
let seq = 0;
const stored = (e: AuditEntry): AuditRecord => ({ ...e, seq: ++seq, prev_hash: '', hash: '' });
const subject = (user: string, tool = 'read_file', agent = 'claude-desktop'): RowSubject => ({
  user: { sub: user, iss: 'https://idp' },
  kind: 'tool',
  agent: { name: agent, tier: 'interactive', delegation_chain: [] },
  tool: { server: 'fs', name: tool },
});
const stamp = (t: number) => ({ time: new Date(t).toISOString(), requestId: `r${seq}`, bundleHash: 'b'.repeat(64) });
const deny = (t: number, user: string, tool?: string) =>
  stored(buildDenyRow(stamp(t), subject(user, tool), { decision: { reasons: ['no'], determiningPolicies: [] } }));
const intent = (t: number, user: string, tool?: string) =>
  stored(buildIntentRow(stamp(t), subject(user, tool), { decision: { reasons: [], determiningPolicies: [] } }));
const result = (t: number, user: string, redacted: number) =>
  stored(
    buildResultRow(stamp(t), subject(user), {
      decision: { decision: 'allow', reasons: [], determiningPolicies: [] },
      dataClasses: [],
      output: { redacted: 'x', sha256: 'c'.repeat(64) },
      redactions: { count: redacted, types: redacted ? ['ssn'] : [] },
    }),
  );
const authFailures = (t: number, count: number) =>
  stored(buildAuthFailureRow(stamp(t), { reasons: ['ERR_IDENTITY_TOKEN_MISSING'], detail: { source: '127.0.0.1', aggregate: { count } } }));

/** Rules on a clock the test moves; `feed` returns every alert raised. */
function setup(settings = DEFAULT_RULE_SETTINGS) {
  let now = Date.UTC(2026, 0, 1);
  const rules = createAlertRules(settings, () => now);
  const raised: RaisedMonitorAlert[] = [];
  return {
    rules,
    at: () => now,
    advance: (ms: number) => (now += ms),
    feed: (r: AuditRecord) => raised.push(...rules.observe(r)),
    raised,
    types: () => raised.map((a) => `${a.type}:${a.key}`),
  };
}

/** A normal hour: each minute 3 denials spread over users, 20 calls of tools already in use, a few redactions, 5 failed logins. */
function normalMinutes(t: ReturnType<typeof setup>, minutes: number): void {
  for (const user of ['alice', 'bob']) for (const tool of ['read_file', 'list_directory']) t.rules.observe(intent(t.at(), user, tool)); // tools in use already
  for (let m = 0; m < minutes; m++) {
    for (let i = 0; i < 20; i++) t.feed(intent(t.at(), i % 2 ? 'alice' : 'bob', i % 3 ? 'read_file' : 'list_directory'));
    for (let i = 0; i < 3; i++) t.feed(deny(t.at(), i % 2 ? 'alice' : 'bob', i % 2 ? 'read_file' : 'write_file'));
    t.feed(result(t.at(), 'alice', 2));
    t.feed(authFailures(t.at(), 5));
    t.advance(MINUTE);
  }
}

describe('the alert rules', () => {
  it('stay quiet on a normal run', () => {
    const t = setup();
    normalMinutes(t, 60);
    expect(t.raised).toEqual([]);
  });

  it('deny_rate_spike: a user denied far above her rolling baseline, per user, agent and tool', () => {
    const t = setup();
    normalMinutes(t, 12);
    for (let i = 0; i < 12; i++) t.feed(deny(t.at(), 'mallory', 'delete_file'));
    const spikes = t.raised.filter((a) => a.type === 'deny_rate_spike');
    expect(spikes.map((a) => a.key).sort()).toEqual(['agent:claude-desktop', 'tool:fs/delete_file', 'user:https://idp|mallory']);
    const user = spikes.find((a) => a.detail.scope === 'user')!;
    expect(user.detail).toMatchObject({ denies: 10, baseline: 0, window_sec: 60 });
    expect(user.cause?.user.sub).toBe('mallory');
  });

  it('deny_rate_spike: a steady high deny rate is the baseline, not a spike', () => {
    const t = setup({ ...DEFAULT_RULE_SETTINGS, cooldownMs: 0 });
    for (let m = 0; m < 15; m++) {
      for (let i = 0; i < 12; i++) t.feed(deny(t.at(), 'batch-user'));
      t.advance(MINUTE);
    }
    // the first minute has no baseline yet (10th and further denials alert, no cooldown here); after it the same rate is normal
    expect(t.raised.filter((a) => a.key === 'user:https://idp|batch-user').map((a) => a.detail.denies)).toEqual([10, 11, 12]);
  });

  it('tool_first_use: a tool never used in the deployment, then a tool new to one user', () => {
    const t = setup();
    normalMinutes(t, 2);
    t.feed(intent(t.at(), 'alice', 'move_file'));
    expect(t.types()).toEqual(['tool_first_use:fs/move_file', 'tool_first_use_by_user:https://idp|alice|fs/move_file']);
    t.feed(intent(t.at(), 'bob', 'move_file'));
    expect(t.types().slice(2)).toEqual(['tool_first_use_by_user:https://idp|bob|fs/move_file']);
    t.feed(intent(t.at(), 'bob', 'move_file'));
    expect(t.raised).toHaveLength(3);
  });

  it("counts no live control test's rows: a control-test tool call raises no first use", () => {
    const t = setup();
    normalMinutes(t, 2);
    t.feed({ ...intent(t.at(), 'custos:control-test:privileged', 'move_file'), control_test: true });
    expect(t.raised).toEqual([]);
    t.feed(intent(t.at(), 'alice', 'move_file'));
    expect(t.types()).toEqual(['tool_first_use:fs/move_file', 'tool_first_use_by_user:https://idp|alice|fs/move_file']);
  });

  it('redactions_over_threshold: a user whose calls carry a burst of redacted values', () => {
    const t = setup();
    normalMinutes(t, 5);
    for (let i = 0; i < 6; i++) t.feed(result(t.at(), 'bob', 10));
    expect(t.types()).toEqual(['redactions_over_threshold:https://idp|bob']);
    expect(t.raised[0]!.detail).toMatchObject({ redactions: 50, threshold: 50, types: ['ssn'] });
  });

  it('auth_failure_flood: aggregate auth_failure rows past the threshold in one window', () => {
    const t = setup();
    normalMinutes(t, 5);
    t.feed(authFailures(t.at(), 80));
    expect(t.raised).toEqual([]);
    t.feed(authFailures(t.at(), 30));
    expect(t.types()).toEqual(['auth_failure_flood:all']);
    expect(t.raised[0]!.detail).toMatchObject({ failures: 110, threshold: 100 });
  });

  it('raises the same alert again only after the cooldown', () => {
    const t = setup();
    const flood = () => t.feed(authFailures(t.at(), 200));
    flood();
    t.advance(MINUTE);
    flood();
    expect(t.raised).toHaveLength(1);
    t.advance(DEFAULT_RULE_SETTINGS.cooldownMs);
    flood();
    expect(t.raised).toHaveLength(2);
  });
});
