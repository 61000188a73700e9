/**
 * Field-name hints for structured values: in JSON, a value under `password`, `ssn`, `dob`,
 * `patient_name`… is that kind of data whatever it looks like, so it is redacted whole
 * (placeholders such as `<REDACTED>` and `${VAR}` excepted). The rule id in the row is `field-name`.
 */
import { remembered } from './memo.js';
import { secretKeyStrength } from './secret-keys.js';

const HINTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(?:ssn|social_?security(?:_?(?:number|no))?|tax_?id|tin)$/, 'ssn'],
  [/^(?:dob|date_?of_?birth|birth_?date|birthday|admission_?date|admit_?date|discharge_?date|date_?of_?death|dod)$/, 'date'],
  [/^(?:mrn|medical_?record(?:_?(?:number|no|id))?|chart_?(?:number|id)|patient_?id)$/, 'mrn'],
  [
    /^(?:patient(?:_?name)?|full_?name|first_?name|last_?name|given_?name|family_?name|surname|middle_?name|maiden_?name|emergency_?contact(?:_?name)?|next_?of_?kin)$/,
    'name',
  ],
  [/^(?:phone(?:_?number)?|mobile|cell(?:_?phone)?|fax(?:_?number)?|telephone|tel)$/, 'phone'],
  [/^(?:e_?mail(?:_?address)?)$/, 'email'],
  [/^(?:address(?:_?line_?\d)?|street(?:_?address)?|home_?address|mailing_?address|zip(?:_?code)?|postal_?code|postcode)$/, 'address'],
  [/^(?:npi)$/, 'npi'],
  [/^(?:dea(?:_?number)?)$/, 'dea'],
  [/^(?:mbi|medicare_?(?:id|number|beneficiary_?id))$/, 'mbi'],
  [/^(?:member_?id|subscriber_?id|policy_?(?:number|no|id)|group_?number|insurance_?id|health_?plan_?id)$/, 'health_plan'],
  [/^(?:account_?(?:number|no)|acct_?(?:number|no)?|iban|routing_?number)$/, 'account'],
  [/^(?:passport(?:_?(?:number|no))?)$/, 'passport'],
  [/^(?:drivers?_?licen[cs]e(?:_?(?:number|no))?|licen[cs]e_?(?:number|no))$/, 'licence'],
  [/^(?:ip|ip_?address|client_?ip|remote_?addr)$/, 'ip'],
  [/^(?:vin|license_?plate|licence_?plate)$/, 'vehicle_id'],
  [/^(?:serial_?number|device_?id|udi|imei)$/, 'device_id'],
];

/** `patientName` → `patient_name`, `Date-Of-Birth` → `date_of_birth`. */
const normalise = (key: string): string =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

function hintOf(key: string): string | undefined {
  const k = normalise(key);
  for (const [re, type] of HINTS) if (re.test(k)) return type;
  const strength = secretKeyStrength(key);
  return strength === 'strong' || strength === 'medium' ? 'secret' : undefined;
}

/** The data type a field name says its value holds, if any. Field names repeat call after call (`type`, `text`, `path`): each one's worked out once. */
export const fieldHint: (key: string) => string | undefined = remembered(hintOf);
