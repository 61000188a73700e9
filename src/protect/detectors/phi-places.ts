/**
 * Geography smaller than a state (Safe Harbor identifier 2): street addresses (a number, capitalised
 * street words and a street suffix, optional unit, city, state and ZIP), PO boxes, and ZIP codes
 * after a label or a state code.
 */
import type { DetectorSpec } from '../detector.js';

const SUFFIX =
  'Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Alley|Row|Crescent|Close';
const STATES =
  'AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR';
const WORD = "[A-Z][A-Za-z'-]{0,30}";

const STREET = `\\d{1,6}[A-Z]?[ \\t]+(?:[NSEW]\\.?[ \\t]+)?(?:${WORD}[ \\t]+){1,3}(?:${SUFFIX})\\b\\.?`;
const UNIT = `(?:,?[ \\t]+(?:Apt|Apartment|Suite|Ste|Unit|#)\\.?[ \\t]*#?[A-Za-z0-9-]{1,8})?`;
const CITY = `(?:,[ \\t]*${WORD}(?:[ \\t]+${WORD}){0,2})?`;
const STATE_ZIP = `(?:,?[ \\t]*(?:${STATES})(?:[ \\t]+\\d{5}(?:-\\d{4})?)?)?`;

export const streetAddress: DetectorSpec = {
  id: 'street-address',
  type: 'address',
  basis: 'context',
  description: 'Street addresses (number, street name, suffix such as Street/Ave/Rd, optional unit, city, state, ZIP) and PO boxes',
  keywords: [
    'street',
    ' st',
    'ave',
    'road',
    ' rd',
    'blvd',
    'boulevard',
    'lane',
    ' ln',
    'drive',
    ' dr',
    'court',
    ' ct',
    ' way',
    'place',
    ' pl',
    'terrace',
    ' ter',
    'circle',
    ' cir',
    'parkway',
    'pkwy',
    'highway',
    'hwy',
    'square',
    ' sq',
    'trail',
    ' trl',
    'alley',
    ' row',
    'crescent',
    'close',
    'box',
  ],
  mode: 'gate',
  pattern: new RegExp(`(?<![A-Za-z0-9#-])(?:${STREET}${UNIT}${CITY}${STATE_ZIP}|P\\.?[ \\t]?O\\.?[ \\t]+Box[ \\t]+\\d{1,6})(?![A-Za-z0-9])`),
  examples: {
    positive: ['42 Example Street, Springfield, IL 62704', ['lives at 1600 W Pennsylvania Ave, Apt 4B', '1600 W Pennsylvania Ave, Apt 4B'], 'PO Box 1234'],
    negative: ['step 3 Run Tests', 'the street was closed', '10 Downing'],
  },
};

export const zipCode: DetectorSpec = {
  id: 'zip-code',
  type: 'address',
  basis: 'context',
  description: 'ZIP codes after a label (ZIP:, zip code, postal code)',
  keywords: ['zip', 'postal', 'postcode'],
  pattern: /(?<![A-Za-z0-9])(?:zip(?:[ \t_-]*code)?|postal[ \t_-]*code|postcode)[ \t]*[:#=]?[ \t]*(\d{5}(?:-\d{4})?)(?!\d)/i,
  groups: [1],
  examples: {
    positive: [
      ['ZIP: 62704', '62704'],
      ['zip code 10001-2345', '10001-2345'],
    ],
    negative: ['port 62704', 'zip the files'],
  },
};

export const stateZip: DetectorSpec = {
  id: 'state-zip',
  type: 'address',
  basis: 'context',
  description: 'ZIP codes after a city and state code (Springfield, IL 62704)',
  pattern: new RegExp(`,[ \\t]?(?:${STATES})[ \\t]+(\\d{5}(?:-\\d{4})?)(?!\\d)`),
  groups: [1],
  validate: (m, text) => /[A-Za-z.]/.test(text[m.index - 1] ?? ''),
  examples: { positive: [['Springfield, IL 62704-1234', '62704-1234']], negative: ['values 3, 4, 62704', 'list, IL62704'] },
};
