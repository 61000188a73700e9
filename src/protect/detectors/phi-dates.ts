/**
 * Dates tied to a person (Safe Harbor identifier 3): birth, admission, discharge, death and
 * service dates, found after their label; every element but the year is an identifier, so
 * the whole date goes. A date without such a label (a release date, a log timestamp) stays.
 */
import type { DetectorSpec } from '../detector.js';

const MONTH = '(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\\.?';
const DATE = [
  '\\d{4}-\\d{1,2}-\\d{1,2}',
  '\\d{1,2}[/.-]\\d{1,2}[/.-](?:\\d{4}|\\d{2})',
  `${MONTH}[ \\t]+\\d{1,2}(?:st|nd|rd|th)?,?[ \\t]+\\d{4}`,
  `\\d{1,2}(?:st|nd|rd|th)?[ \\t]+(?:of[ \\t]+)?${MONTH},?[ \\t]+\\d{4}`,
  `${MONTH}[ \\t]+\\d{4}`,
].join('|');

const LABEL = [
  'd\\.?o\\.?b\\.?',
  'date[ \\t_-]+of[ \\t_-]+(?:birth|death|admission|discharge|service|visit|surgery|procedure)',
  'birth[ \\t_-]*date',
  'birthday',
  'born(?:[ \\t]+on)?',
  'admi(?:tted|ssion(?:[ \\t_-]+date)?|t[ \\t_-]+date)',
  'discharge(?:d|[ \\t_-]+date)?',
  'deceased',
  'died(?:[ \\t]+on)?',
  'd\\.?o\\.?[ds]\\.?',
  'seen[ \\t]+on',
  'visit[ \\t_-]+date',
  'expired',
].join('|');

export const personDate: DetectorSpec = {
  id: 'person-date',
  type: 'date',
  basis: 'context',
  description: 'Dates after a birth, admission, discharge, death, service or visit label (DOB:, Admitted on, Discharge date, born)',
  keywords: ['dob', 'd.o.', 'date', 'birth', 'born', 'admi', 'discharg', 'deceased', 'died', 'dod', 'dos', 'seen on', 'visit', 'expired'],
  pattern: new RegExp(`(?<![A-Za-z0-9])(?:${LABEL})(?![A-Za-z])[^\\n\\d]{0,24}?(${DATE})(?![\\d])`, 'i'),
  groups: [1],
  examples: {
    positive: [
      ['DOB: 1961-04-12', '1961-04-12'],
      ['Admitted on 03/14/2024 for pneumonia', '03/14/2024'],
      ['date of birth April 12, 1961', 'April 12, 1961'],
      ['discharged home on 2 March 2024', '2 March 2024'],
    ],
    negative: ['released 2024-05-01', 'Date: 2024-05-01 build 77', 'the birth rate in 2020', 'dos2unix 1.2'],
  },
};
