/** The detector registry, in priority order: when spans overlap, the earlier detector names the marker. */
import type { DetectorSpec } from '../detector.js';
import { card } from './card.js';
import { email, phoneInternational, phoneNanp } from './contact.js';
import { genericSecret, genericSecretLine } from './generic-secret.js';
import { GITHUB_DETECTORS } from './github-token.js';
import { iban, ipv4, ipv6, passport, ssn, ssnLabeled } from './identity-numbers.js';
import { awsSecretAccessKey, azureClientSecret, bearerToken, genericSkKey, slackToken, telegramBotToken, urlCredentials } from './other-secrets.js';
import { jwt } from './jwt.js';
import { pemPrivateKey, puttyPrivateKey } from './pem-private-key.js';
import { ageOver89, patientUrl } from './phi-context.js';
import { personDate } from './phi-dates.js';
import { accountNumber, dea, deviceId, healthPlan, licenceNumber, licencePlate, mbi, mrn, npi, vehicleVin } from './phi-identifiers.js';
import { personNameLabelled, personNameTitled } from './phi-names.js';
import { stateZip, streetAddress, zipCode } from './phi-places.js';
import { tokenDetector } from './prefixed-token.js';
import { SECRET_FILE_DETECTORS } from './secret-file.js';
import { TOKEN_FORMATS } from './token-formats.js';

export const SECRET_DETECTORS: readonly DetectorSpec[] = [
  pemPrivateKey,
  puttyPrivateKey,
  jwt,
  ...GITHUB_DETECTORS,
  ...TOKEN_FORMATS.map(tokenDetector),
  azureClientSecret,
  telegramBotToken,
  slackToken,
  genericSkKey,
  awsSecretAccessKey,
  bearerToken,
  urlCredentials,
  genericSecret,
  genericSecretLine,
  ...SECRET_FILE_DETECTORS,
];

export const PII_DETECTORS: readonly DetectorSpec[] = [iban, card, ssn, ssnLabeled, passport, email, phoneNanp, phoneInternational, ipv4, ipv6];

export const PHI_DETECTORS: readonly DetectorSpec[] = [
  mrn,
  npi,
  dea,
  mbi,
  healthPlan,
  accountNumber,
  licenceNumber,
  licencePlate,
  deviceId,
  vehicleVin,
  personNameLabelled,
  personNameTitled,
  personDate,
  streetAddress,
  zipCode,
  stateZip,
  patientUrl,
  ageOver89,
];

export const DETECTORS: readonly DetectorSpec[] = [...SECRET_DETECTORS, ...PII_DETECTORS, ...PHI_DETECTORS];

export { isLuhnValid, isValidSsn, isNpiValid, isDeaValid, isVinValid, isIbanValid, isGithubChecksumValid, crc32, toBase62 } from './checksums.js';
export { checksummedToken } from './github-token.js';
export { exampleToken, seededRandom } from './prefixed-token.js';
export type { TokenFormat } from './prefixed-token.js';
export { TOKEN_FORMATS } from './token-formats.js';
export { isPlaceholder } from './placeholders.js';
