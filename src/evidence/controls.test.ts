import { describe, expect, it } from 'vitest';
import { CHECKLIST, CONTROLS, CONTROL_TESTS, CROSSWALK, controlsOf, parseControlMap } from './controls.js';
import data from './controls.json' with { type: 'json' };

const copy = (): typeof data => structuredClone(data);

describe('the control map (controls.json)', () => {
  it('loads the playbook: five SOC 2 and five HIPAA controls, the crosswalk, nineteen boxes, every test used', () => {
    expect(CONTROLS.filter((c) => c.framework === 'soc2').map((c) => c.id)).toEqual(['CC6.1', 'CC6.6', 'CC7.1', 'CC7.2', 'CC8.1']);
    expect(CONTROLS.filter((c) => c.framework === 'hipaa')).toHaveLength(5);
    expect(CROSSWALK.map((x) => x.clause)).toEqual(['PCI DSS 10.2', 'GDPR Art. 30', 'EU AI Act Art. 12', 'NIST AI RMF MEASURE 2.7']);
    expect(CHECKLIST.map((b) => b.id)).toEqual(Array.from({ length: 19 }, (_, i) => `box-${String(i + 1).padStart(2, '0')}`));
    expect(new Set(CONTROLS.flatMap((c) => c.tests))).toEqual(new Set(Object.values(CONTROL_TESTS)));
    expect(controlsOf('pci').map((c) => c.id)).toEqual(['CC6.1', 'CC7.2', '164.312(b)']);
  });

  it('refuses a map with an unknown test, naming where', () => {
    const bad = copy();
    (bad.controls[0]!.tests as string[]).push('no-such-test');
    expect(() => parseControlMap(bad)).toThrow(/controls\.json: controls\.0\.tests\.1: /);
  });

  it('refuses an evidence file the pack does not write, a duplicate id and a crosswalk to an unknown control', () => {
    const bad = copy();
    bad.controls[0]!.evidence[0]!.file = 'screenshots/idp.png';
    bad.controls[1]!.evidence[0]!.id = bad.controls[0]!.evidence[1]!.id;
    bad.crosswalk[0]!.controls.push('CC9.9');
    expect(() => parseControlMap(bad)).toThrow(
      expect.objectContaining({
        code: 'ERR_INTERNAL',
        message: expect.stringMatching(
          /screenshots\/idp\.png is not a file the pack writes.*cc61-rows appears twice.*PCI DSS 10\.2 names unknown control CC9\.9/,
        ),
      }),
    );
  });

  it('refuses a checklist that is not nineteen boxes and an unknown field', () => {
    const bad = copy() as typeof data & { extra?: boolean };
    bad.checklist.pop();
    bad.extra = true;
    expect(() => parseControlMap(bad)).toThrow(/checklist: .*19/);
    expect(() => parseControlMap(bad)).toThrow(/extra/);
  });
});
