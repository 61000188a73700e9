/** Selecting built-in detectors by id or type; the registry itself is detectors/index.ts. */
import { CustosError } from '../kernel/index.js';
import type { DetectorInfo, DetectorSpec } from './detector.js';
import { DETECTORS } from './detectors/index.js';

export { DETECTORS };

/** Id, type, marker, basis, description and scope of every built-in detector, in priority order. */
export function listDetectors(): DetectorInfo[] {
  return DETECTORS.map((d) => ({
    name: d.id,
    type: d.type,
    marker: `[redacted:${d.type}]`,
    basis: d.basis,
    description: d.description,
    scope: d.scope ?? 'always',
  }));
}

/** Does a name select this detector: its id, its type, or `all`? */
export const selects = (d: DetectorSpec, name: string): boolean => name === 'all' || d.id === name || d.type === name;

/** Throws ERR_CONFIG_INVALID for a name that selects no built-in detector. */
export function checkDetectorNames(names: readonly string[], code: 'ERR_CONFIG_INVALID' | 'ERR_POLICY_BUNDLE_INVALID' = 'ERR_CONFIG_INVALID'): void {
  for (const name of names) {
    if (!DETECTORS.some((d) => selects(d, name))) throw new CustosError(code, 'Unknown redaction detector.', { detail: { detector: name } });
  }
}

/**
 * The built-in detectors to enable. `names` selects by detector id or by type
 * (`secret` enables every secret detector, `all` every detector); omitted means all.
 * Unknown names are a config error.
 */
export function selectDetectors(names?: readonly string[]): readonly DetectorSpec[] {
  if (names === undefined) return DETECTORS;
  checkDetectorNames(names);
  return DETECTORS.filter((d) => names.some((n) => selects(d, n)));
}
