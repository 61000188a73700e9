/** The identity ports the front doors use are kernel ports (src/kernel/identity-ports.ts). */
export type { EmergencyGrant, EmergencyPort, IdentityServices, LogoutPort, SessionAdminPort } from '../../kernel/index.js';
