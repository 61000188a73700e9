/** Break-glass emergency access: grants, their use and their post-hoc review. */
export { createEmergencyAccess, MAX_REASON_CHARS } from './grants.js';
export type { EmergencyAccess, EmergencyAccessOptions, EmergencyGrant } from './grants.js';
