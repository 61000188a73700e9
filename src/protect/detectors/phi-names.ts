/**
 * Names of patients and of their relatives and contacts (Safe Harbor identifier 1), found by
 * context: a label (`Patient:`, `Name:`, `Emergency contact:`, `mother`) or a title (`Mr.`,
 * `Mrs.`) before capitalised words. Labels match in any case; the name itself must be
 * capitalised, so `name: custos` or `the patient was admitted` are left alone.
 */
import type { DetectorSpec } from '../detector.js';

/** `patient` → `(?:[Pp]atient|PATIENT)`: the label in lower, capitalised or upper case, the name still case-sensitive. */
const anyCase = (word: string): string => `(?:[${word[0]!.toUpperCase()}${word[0]}]${word.slice(1)}|${word.toUpperCase()})`;
const phrase = (words: string): string => words.split(' ').map(anyCase).join('[ \\t]+');

const STRONG_LABELS = [
  'patient name',
  'patient',
  'pt name',
  'pt',
  'mother',
  'father',
  'spouse',
  'husband',
  'wife',
  'son',
  'daughter',
  'guardian',
  'emergency contact',
  'next of kin',
  'nok',
  'caregiver',
  'insured',
  'subscriber',
  'beneficiary',
  'member name',
  'full name',
  'legal name',
  'decedent',
];
/** Generic labels that also title other things (`name: Build and test`): a first and last name are required. */
const WEAK_LABELS = ['name', 'first name', 'last name', 'contact'];

/** A capitalised word; Latin letters with diacritics count (Tomás, Fernández, Łukasz). */
const NAME_WORD = "[A-Z\\u00C0-\\u00DE\\u0141\\u015A\\u0179\\u017B][a-zA-Z\\u00DF-\\u024F'’-]{1,30}";
const NAME = `(${NAME_WORD}(?:[ \\t]+[A-Z]\\.?)?(?:[ \\t]+${NAME_WORD}){0,2})`;
const NAME2 = `(${NAME_WORD}(?:[ \\t]+[A-Z]\\.?)?(?:[ \\t]+${NAME_WORD}){1,2})`;
const AFTER_LABEL = `(?:[ \\t]*[:#=,-][ \\t]*|[ \\t]+(?:is|was|named)[ \\t]+|[ \\t]+)["']?(?:(?:Mr|Mrs|Ms|Miss|Mx)\\.?[ \\t]+)?`;

/** Capitalised words that start sentences or titles, never a name. */
const NOT_NAMES = new Set(
  'The A An This That These Those He She They It We I You His Her Their Our Is Was Has Had Have Will Would Should Can Could May Might Must With Without And Or But If In On At To For From By Of As Not No Yes None Unknown Male Female Other Presents Denies Reports States Notes Note Name Patient Age Sex Date Id Identifier Information Info Record Records Status Type Field Fields Required Optional Build Test Tests Run Deploy Install Setup Check Checks Update Lint Release Create Delete Read Write Get Set List Default Admin User Users Service Server Client Data Value Values Key Keys Label Title Description Summary Details Number Total Notes Today Yesterday Tomorrow Monday Tuesday Wednesday Thursday Friday Saturday Sunday Address Phone Email Contact Emergency Insurance Plan Member Group Policy Account Provider Doctor Dr Nurse Staff Team Department Hospital Clinic Care Health Medical'.split(
    ' ',
  ),
);

/** The words of a candidate between blanks (`split(/[ \t]+/)` without its empty ends): a regular-expression split tries every position. */
function blankSeparatedWords(candidate: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i <= candidate.length; i++) {
    const c = candidate.charCodeAt(i);
    const blank = i === candidate.length || c === 32 || c === 9;
    if (blank && start >= 0) {
      words.push(candidate.slice(start, i));
      start = -1;
    } else if (!blank && start < 0) start = i;
  }
  return words;
}

function isName(candidate: string): boolean {
  const words = blankSeparatedWords(candidate).filter((w) => w.length > 1 || /[A-Z]/.test(w));
  const first = words[0]?.replace(/\.$/, '') ?? '';
  return words.length > 0 && !NOT_NAMES.has(first) && !NOT_NAMES.has(words[words.length - 1]!) && !/^[A-Z]{2,}$/.test(first); // all capitals: an acronym (MRN, DOB)
}

export const personNameLabelled: DetectorSpec = {
  id: 'person-name',
  type: 'name',
  basis: 'context',
  description: 'Names after a label (Patient:, Patient name:, Emergency contact:, mother, spouse, guardian…; Name: with first and last name)',
  keywords: [...new Set([...STRONG_LABELS, ...WEAK_LABELS].map((l) => l.split(' ')[0]!))],
  pattern: new RegExp(
    `(?<![A-Za-z0-9_])(?:(?:${STRONG_LABELS.map(phrase).join('|')})${AFTER_LABEL}${NAME}|(?:${WEAK_LABELS.map(phrase).join('|')})${AFTER_LABEL}${NAME2})(?![a-z])`,
  ),
  groups: [1, 2],
  validate: (m) => {
    const name = m[1] ?? m[2] ?? '';
    // `Patient Safety Committee`: a capitalised label with no separator titles something; `the patient John Doe` names someone.
    const label = m[0].slice(0, m[0].length - name.length);
    const separated = /[:#=,-]|\b(?:is|was|named)\b/.test(label);
    return isName(name) && (separated || /^[a-z]/.test(label));
  },
  examples: {
    positive: [
      ['Patient: Jane Q. Example', 'Jane Q. Example'],
      ['Emergency contact: Maria Lopez (sister)', 'Maria Lopez'],
      ['patient John Sample was admitted', 'John Sample'],
      ['Name: Robert Miller', 'Robert Miller'],
    ],
    negative: [
      'name: custos',
      'name: Build and test',
      'the patient was admitted',
      'Patient: The note follows',
      'patient name field is required',
      'PATIENT SAFETY FIRST',
    ],
  },
};

export const personNameTitled: DetectorSpec = {
  id: 'person-name-title',
  type: 'name',
  basis: 'context',
  description: 'Names after a courtesy title (Mr., Mrs., Ms., Miss, Mx.)',
  keywords: ['mr', 'mrs', 'ms', 'miss', 'mx'],
  pattern: new RegExp(`(?<![A-Za-z0-9_])(?:Mr|Mrs|Ms|Miss|Mx)\\.?[ \\t]+(${NAME_WORD}(?:[ \\t]+${NAME_WORD})?)(?![a-z])`),
  groups: [1],
  validate: (m) => isName(m[1] ?? ''),
  examples: { positive: [['seen with Mrs. Alvarez today', 'Alvarez']], negative: ['ms. the unit of time', 'Mr. The end'] },
};
