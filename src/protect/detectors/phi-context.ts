/**
 * Identifiers that are only PHI next to a patient: URLs on a line about a patient, chart or
 * portal (Safe Harbor identifier 14), and ages over 89 (which Safe Harbor folds into "90 or older").
 */
import type { DetectorSpec, Span } from '../detector.js';

const PATIENT_LINE = /patient|portal|mychart|chart|medical record|\behr\b|\bemr\b|discharge|admission/i;
const URL = /https?:\/\/[^\s<>"'`)\]]{1,2048}/g;

/** Every URL on a line that mentions a patient, chart or portal. */
export function findPatientUrls(text: string): Span[] {
  const out: Span[] = [];
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd);
    if (line.includes('://') && PATIENT_LINE.test(line)) {
      URL.lastIndex = 0;
      for (let m = URL.exec(line); m !== null; m = URL.exec(line))
        out.push({ start: lineStart + m.index, end: lineStart + m.index + m[0].replace(/[.,;:!?]+$/, '').length });
    }
    lineStart = lineEnd + 1;
  }
  return out;
}

export const patientUrl: DetectorSpec = {
  id: 'patient-url',
  type: 'url',
  basis: 'context',
  description: 'URLs on a line that mentions a patient, chart, portal, EHR/EMR, admission or discharge',
  keywords: ['://'],
  mode: 'line',
  find: findPatientUrls,
  examples: {
    positive: [['Patient portal: https://portal.example-health.test/p/88213', 'https://portal.example-health.test/p/88213']],
    negative: ['Docs: https://example.com/guide', 'see https://nodejs.org for the runtime'],
  },
};

export const ageOver89: DetectorSpec = {
  id: 'age-over-89',
  type: 'age',
  basis: 'context',
  description: 'Ages over 89 (Age: 93, aged 91, 94-year-old, 92 y/o)',
  keywords: ['age', 'year', 'yr', 'yo', 'y/o'],
  mode: 'line',
  pattern: /(?<![A-Za-z0-9])(?:aged?[ \t]*[:=]?[ \t]*(9\d|1[01]\d)(?!\d)|(9\d|1[01]\d)[ -]?(?:years?|yrs?)[ -]old|(9\d|1[01]\d)[ \t]*(?:yo|y\/o)(?![A-Za-z]))/i,
  groups: [1, 2, 3],
  examples: {
    positive: [
      ['Age: 93', '93'],
      ['a 94-year-old woman', '94'],
      ['92 y/o male', '92'],
    ],
    negative: ['Age: 45', 'page 93', 'a 5-year-old child'],
  },
};
