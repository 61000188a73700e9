/** The detector registry, in priority order: secrets first, then PII (card before phone). */
import { CustosError } from '../kernel/index.js';
import type { DetectorInfo, DetectorSpec } from './detector.js';
import { PII_DETECTORS } from './detectors-pii.js';
import { SECRET_DETECTORS } from './detectors-secret.js';

export const DETECTORS: readonly DetectorSpec[] = [...SECRET_DETECTORS, ...PII_DETECTORS];

/** Name, type, description and scope of every built-in detector, in priority order. */
export function listDetectors(): DetectorInfo[] {
  return DETECTORS.map((d) => ({ name: d.name, type: d.type, description: d.description, scope: d.scope ?? 'always' }));
}

/**
 * The built-in detectors to enable. `names` selects by detector name or by type
 * (`secret` enables every secret detector); omitted means all. Unknown names are a config error.
 */
export function selectDetectors(names?: readonly string[]): readonly DetectorSpec[] {
  if (names === undefined) return DETECTORS;
  const wanted = new Set(names);
  for (const name of wanted) {
    if (!DETECTORS.some((d) => d.name === name || d.type === name)) {
      throw new CustosError('ERR_CONFIG_INVALID', 'Unknown redaction detector.', { detail: { detector: name } });
    }
  }
  return DETECTORS.filter((d) => wanted.has(d.name) || wanted.has(d.type));
}
