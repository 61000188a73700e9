import { describe, expect, it } from 'vitest';
import { createTextRedactor, redactText } from '../redact-text.js';
import { DETECTORS, PHI_DETECTORS, PII_DETECTORS, SECRET_DETECTORS } from './index.js';

const secretOf = (e: string | readonly [string, string]): [string, string] => (typeof e === 'string' ? [e, e] : [e[0], e[1]]);

describe('detector registry', () => {
  it('has unique kebab-case ids, a type, a description and a basis for every detector', () => {
    const ids = DETECTORS.map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const d of DETECTORS) {
      expect(d.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(d.type).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(d.description.length).toBeGreaterThan(10);
    }
  });

  it('knows at least 150 secret formats', () => {
    expect(SECRET_DETECTORS.filter((d) => d.scope !== 'secret_file').length).toBeGreaterThanOrEqual(150);
  });

  it('covers the PII and the Safe Harbor identifiers text can show', () => {
    const types = new Set([...PII_DETECTORS, ...PHI_DETECTORS].map((d) => d.type));
    for (const t of [
      'email',
      'phone',
      'ssn',
      'card',
      'iban',
      'ip',
      'passport',
      'name',
      'date',
      'address',
      'mrn',
      'npi',
      'dea',
      'mbi',
      'health_plan',
      'account',
      'licence',
      'device_id',
      'vehicle_id',
      'url',
      'age',
    ]) {
      expect(types, t).toContain(t);
    }
  });

  it('every always-on detector has at least one positive and one negative vector', () => {
    for (const d of DETECTORS.filter((x) => x.scope !== 'secret_file')) {
      expect(d.examples.positive.length, d.id).toBeGreaterThan(0);
      expect(d.examples.negative.length, d.id).toBeGreaterThan(0);
    }
  });
});

describe.each(DETECTORS.filter((d) => d.scope !== 'secret_file').map((d) => [d.id, d] as const))('%s', (_id, d) => {
  it.each(d.examples.positive.map((e) => secretOf(e)))('redacts %j', (text, secret) => {
    // The detector alone finds it, and with every detector on it is gone too.
    const alone = createTextRedactor([d]).redact(text);
    expect(alone.text).not.toContain(secret);
    expect(alone.rules?.map((x) => x.rule)).toEqual([d.id]);
    expect(redactText(text).text).not.toContain(secret);
  });
  it.each(d.examples.negative.map((n) => [n]))('leaves %j alone', (text) => {
    expect(redactText(text).text).toBe(text);
  });
});
