import { describe, expect, it } from 'vitest';
import type { RedactionPolicy } from '../kernel/index.js';
import { unsafePatternReason } from './custom-pattern.js';
import { createProtector } from './protector.js';
import { checkRedactionPolicy } from './redaction-policy.js';

const policy = (over: Partial<RedactionPolicy> = {}): RedactionPolicy => ({ detectors: ['all'], allow: [], patterns: [], rules: [], ...over });
const tool = { server: 'filesystem', name: 'read_text_file' };

describe('redaction as policy', () => {
  const p = createProtector();

  it('a custom pattern takes effect and the result says which rule fired', () => {
    const r = p.redact('see TCK-004211 and 123-45-6789', {
      policy: policy({ patterns: [{ id: 'ticket-id', type: 'ticket', pattern: 'TCK-[0-9]{6}' }] }),
      tool,
    });
    expect(r.value).toBe('see [redacted:ticket] and [redacted:ssn]');
    expect(r.rules).toEqual([
      { rule: 'custom:ticket-id', type: 'ticket', count: 1 },
      { rule: 'ssn', type: 'ssn', count: 1 },
    ]);
  });

  it('an allow-listed value is kept, counted as allowed, never as redacted', () => {
    const r = p.redact('support (415) 555-0100, patient (415) 555-0199', { policy: policy({ allow: ['(415) 555-0100'] }), tool });
    expect(r.value).toBe('support (415) 555-0100, patient [redacted:phone]');
    expect(r.count).toBe(1);
    expect(r.allowed).toBe(1);
  });

  it('rules select detectors per tool, tier and destination; later rules win', () => {
    const pol = policy({
      rules: [
        { tools: ['filesystem/read_*'], destinations: ['agent'], disable: ['ip'] },
        { tiers: ['subagent'], enable: ['ipv4'] },
      ],
    });
    const text = 'from 203.0.113.9';
    expect(p.redact(text, { policy: pol, tool, destination: 'agent', tier: 'interactive' }).value).toBe(text);
    expect(p.redact(text, { policy: pol, tool, destination: 'audit', tier: 'interactive' }).value).toBe('from [redacted:ip]');
    expect(p.redact(text, { policy: pol, tool, destination: 'agent', tier: 'subagent' }).value).toBe('from [redacted:ip]');
    expect(p.redact(text, { policy: pol, tool: { server: 'other', name: 'read_x' }, destination: 'agent' }).value).toBe('from [redacted:ip]');
  });

  it('a default set narrower than all', () => {
    expect(p.redact('a@example.com 123-45-6789', { policy: policy({ detectors: ['ssn'] }) }).value).toBe('a@example.com [redacted:ssn]');
  });

  it('reports every problem: unknown detectors, unbounded or invalid patterns, duplicate ids', () => {
    const problems = checkRedactionPolicy(
      policy({
        detectors: ['emial'],
        patterns: [
          { id: 'a', type: 't', pattern: '(a+)+$' },
          { id: 'b', type: 't', pattern: '[' },
          { id: 'b', type: 't', pattern: 'x{1,3}' },
        ],
        rules: [{ disable: ['custom:nope'] }],
      }),
    );
    expect(problems.join('\n')).toMatch(/unknown detector "emial"/);
    expect(problems.join('\n')).toMatch(/patterns\.a: not bounded/);
    expect(problems.join('\n')).toMatch(/patterns\.b: not a valid regular expression/);
    expect(problems.join('\n')).toMatch(/patterns\.b: duplicate id/);
    expect(problems.join('\n')).toMatch(/unknown detector "custom:nope"/);
  });
});

describe('custom pattern safety', () => {
  it.each(['TCK-[0-9]{6}', '(?:ab|cd)-\\d{2,8}', 'EMP[A-Z]{2}\\d{4}', '(x{1,3})?y', 'a\\{b'])('accepts bounded %s', (src) => {
    expect(unsafePatternReason(src)).toBeUndefined();
  });
  it.each(['a+', 'a*', '\\d{3,}', '(a|ab){1,20}', '(a{1,9}){1,9}', '(a)\\1', '(?=a)b', '(?<!a)b', 'x{1,999}', '(a', 'a)'])('refuses %s', (src) => {
    expect(unsafePatternReason(src)).toBeDefined();
  });
});
