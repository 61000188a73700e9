/** Protect: detectors, redaction to `[redacted:TYPE]`, file-read classification. */
export { createProtector } from './protector.js';
export type { ProtectorOptions } from './protector.js';
export { redactText } from './redact-text.js';
export type { RuleCount, TextRedaction, TextRedactOptions } from './redact-text.js';
export { listDetectors } from './detectors.js';
export { assertRedactionPolicy, checkRedactionPolicy } from './redaction-policy.js';
export { unsafePatternReason } from './custom-pattern.js';
export type { DetectorInfo, DetectorScope } from './detector.js';
export { classifyPaths, classifyCall, isSecretFile, SECRET_FILE } from './classify.js';
export { extractPaths, normalisePath } from './paths.js';
export { matchGlob } from './glob.js';
export type { GlobOptions } from './glob.js';
export { extractTenants, tenantOfPath } from './tenants.js';
export { createEgressGuard, isBlockedAddress, MAX_DESTINATIONS } from './egress.js';
export type { EgressGuardOptions, HostResolver } from './egress.js';
export { createPseudonymVault, PSEUDONYM_MARKER } from './pseudonyms.js';
export type { PseudonymVaultOptions } from './pseudonyms.js';
