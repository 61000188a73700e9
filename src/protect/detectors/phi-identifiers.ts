/**
 * Record and registration numbers (Safe Harbor identifiers 8–13, 16): medical record, provider
 * (NPI, DEA), Medicare (MBI), health-plan, account, licence, device and vehicle identifiers.
 * Checksum-backed numbers (NPI Luhn, DEA, VIN) are verified; the rest need their label.
 */
import type { DetectorSpec } from '../detector.js';
import { digitCount, isDeaValid, isNpiValid, isVinValid } from './checksums.js';

const LABEL_TAIL = `(?:[ \\t]*(?:identifier|number|num|no\\.?|id|#)(?![A-Za-z]))?[ \\t]*[:#=]?[ \\t]*`;

/** An identifier after a label: letters, digits and dashes, with at least `minDigits` digits. */
function labelled(
  id: string,
  type: string,
  labels: readonly string[],
  keywords: readonly string[],
  minDigits: number,
  description: string,
  examples: DetectorSpec['examples'],
): DetectorSpec {
  return {
    id,
    type,
    basis: 'context',
    description,
    keywords,
    pattern: new RegExp(`(?<![A-Za-z0-9])(?:${labels.join('|')})${LABEL_TAIL}([A-Za-z0-9][A-Za-z0-9-]{2,29})(?![A-Za-z0-9]|[.-][A-Za-z0-9])`, 'i'),
    groups: [1],
    validate: (m) => digitCount(m[1] ?? '') >= minDigits,
    examples,
  };
}

export const mrn = labelled(
  'mrn',
  'mrn',
  ['mrn(?![A-Za-z])', 'mr#', 'medical[ \\t]+record(?:[ \\t]+(?:number|num|no\\.?))?', 'chart[ \\t]+(?:number|no\\.?|#)', 'patient[ \\t]+(?:id|number|no\\.?)'],
  ['mrn', 'mr#', 'medical record', 'chart', 'patient'],
  1,
  'Medical record numbers after a label (MRN, MR#, Medical Record Number, chart #, patient ID); the identifier must contain a digit',
  {
    positive: [
      ['MRN 00123456', '00123456'],
      ['MRN#: A1234567', 'A1234567'],
      ['Medical Record Number: MR-7730021', 'MR-7730021'],
      ['Patient ID: P-99812', 'P-99812'],
    ],
    negative: ['the MRN field is required', 'chart 00123456 without a label', 'mRNA 1273 vaccine'],
  },
);

export const npi: DetectorSpec = {
  id: 'npi',
  type: 'npi',
  basis: 'checksum',
  description: 'National Provider Identifiers after "NPI": 10 digits, Luhn-valid with the 80840 prefix',
  keywords: ['npi'],
  pattern: new RegExp(`(?<![A-Za-z0-9])npi${LABEL_TAIL}(\\d{10})(?!\\d)`, 'i'),
  groups: [1],
  validate: (m) => isNpiValid(m[1] ?? ''),
  examples: { positive: [['NPI: 1234567893', '1234567893']], negative: ['NPI: 1234567890', 'npi install'] },
};

export const dea: DetectorSpec = {
  id: 'dea',
  type: 'dea',
  basis: 'checksum',
  description:
    'DEA registration numbers (in a text that mentions DEA, prescriber or registration): registrant letter, second letter, 7 digits with the DEA check digit',
  keywords: ['dea', 'prescriber', 'registration'],
  mode: 'gate',
  pattern: /(?<![A-Za-z0-9])[ABCDEFGHJKLMPRSTUX][A-Z9]\d{7}(?![A-Za-z0-9])/,
  validate: (m) => isDeaValid(m[0]),
  examples: {
    positive: [
      ['DEA# AB1234563', 'AB1234563'],
      ['Prescriber FS7654329', 'FS7654329'],
    ],
    negative: ['DEA AB1234567', 'DEA ZZ1234563', 'AB1234563 without the word'],
  },
};

const MBI_L = 'AC-HJKMNP-RT-Y';
export const mbi: DetectorSpec = {
  id: 'medicare-mbi',
  type: 'mbi',
  basis: 'structure',
  description:
    'Medicare Beneficiary Identifiers (11 characters in the CMS position rules, dashes optional) in a text that mentions Medicare, MBI or beneficiary',
  keywords: ['medicare', 'mbi', 'beneficiary', 'cms'],
  mode: 'gate',
  pattern: new RegExp(`(?<![A-Za-z0-9])[1-9][${MBI_L}][${MBI_L}0-9]\\d-?[${MBI_L}][${MBI_L}0-9]\\d-?[${MBI_L}]{2}\\d{2}(?![A-Za-z0-9])`),
  examples: {
    positive: [
      ['MBI 1EG4-TE5-MK73', '1EG4-TE5-MK73'],
      ['Medicare: 1EG4TE5MK73', '1EG4TE5MK73'],
    ],
    negative: ['MBI 1EG4-TE5-MK7', 'Medicare 1SG4-TE5-MK73'],
  },
};

export const healthPlan = labelled(
  'health-plan-id',
  'health_plan',
  ['member', 'subscriber', 'policy', 'group', 'insurance', 'health[ \\t]+plan', 'plan', 'medicaid', 'beneficiary', 'hicn'],
  ['member', 'subscriber', 'policy', 'group', 'insurance', 'health plan', 'plan', 'medicaid', 'beneficiary', 'hicn'],
  3,
  'Health-plan beneficiary numbers after a label (Member ID, Subscriber ID, Policy #, Group number, Insurance ID, Medicaid)',
  {
    positive: [
      ['Member ID: XJH123456789', 'XJH123456789'],
      ['Group #: 88-1204', '88-1204'],
    ],
    negative: ['member id is required', 'policy version 2'],
  },
);

export const accountNumber = labelled(
  'account-number',
  'account',
  ['account[ \\t]*(?=number|no\\.?|num|#)', 'acct\\.?', 'a\\/c', 'routing'],
  ['account', 'acct', 'a/c', 'routing'],
  6,
  'Account numbers after a label (Account number, Acct #, A/C, routing); at least 6 digits',
  {
    positive: [
      ['Account number: 0012-3456-789', '0012-3456-789'],
      ['acct# 99887766', '99887766'],
    ],
    negative: ['account settings page', 'account 12'],
  },
);

export const licenceNumber = labelled(
  'licence-number',
  'licence',
  ["driver'?s?[ \\t]+licen[cs]e", 'licen[cs]e', 'dl', 'certificate', 'cert'],
  ['driver', 'licen', 'dl', 'certificate', 'cert'],
  3,
  "Licence and certificate numbers after a label (Driver's license, License #, DL, Certificate)",
  {
    positive: [
      ["Driver's license: D1234-5678", 'D1234-5678'],
      ['DL# S530-4418-2291', 'S530-4418-2291'],
    ],
    negative: ['license: MIT', 'License: Apache-2.0', 'certificate expired'],
  },
);

export const deviceId = labelled(
  'device-id',
  'device_id',
  ['serial', 's\\/n', 'sn', 'device', 'udi', 'imei', 'implant', 'pacemaker', 'lot'],
  ['serial', 's/n', 'sn', 'device', 'udi', 'imei', 'implant', 'pacemaker', 'lot'],
  3,
  'Device identifiers and serial numbers after a label (Serial number, S/N, Device ID, UDI, IMEI, implant, pacemaker)',
  {
    positive: [
      ['Pacemaker serial: PJN-204417', 'PJN-204417'],
      ['IMEI 490154203237518', '490154203237518'],
    ],
    negative: ['serial port', 'device id unknown'],
  },
);

export const vehicleVin: DetectorSpec = {
  id: 'vehicle-vin',
  type: 'vehicle_id',
  basis: 'checksum',
  description:
    'Vehicle identification numbers (in a text that mentions VIN, vehicle or chassis): 17 characters (no I, O, Q) with the check digit in position 9',
  keywords: ['vin', 'vehicle', 'chassis'],
  mode: 'gate',
  // The first character before the look-behind (same match as a leading `(?<![A-Za-z0-9])`):
  // the engine tries a class first, which rejects most positions faster than a look-behind.
  pattern: /[A-HJ-NPR-Z0-9](?<![A-Za-z0-9][A-HJ-NPR-Z0-9])[A-HJ-NPR-Z0-9]{16}(?![A-Za-z0-9])/,
  validate: (m) => isVinValid(m[0]) && /[A-Z]/.test(m[0]) && digitCount(m[0]) >= 3,
  examples: { positive: [['VIN 1M8GDM9AXKP042788', '1M8GDM9AXKP042788']], negative: ['VIN 1M8GDM9A1KP042788', 'vehicle 11111111111111111'] },
};

export const licencePlate = labelled(
  'licence-plate',
  'vehicle_id',
  ['(?:licen[cs]e[ \\t]+)?plate'],
  ['plate', 'license plate', 'licence plate'],
  1,
  'Licence plates after a label (plate, license plate)',
  { positive: [['License plate: 7ABC123', '7ABC123']], negative: ['plate of food', 'tag: latest'] },
);
