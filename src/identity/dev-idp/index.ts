/** DEV ONLY: the local identity provider for the quick start and tests. */
export { startDevIdentityProvider, DEV_CLIENT_ID, DEV_CONSOLE_CLIENT_ID, DEV_REDIRECT_URI, DEV_SCOPE } from './provider.js';
export type { DevIdentityProvider, DevIdentityProviderOptions } from './provider.js';
export { fetchDevToken, signInDevUser } from './fetch-token.js';
export { DEMO_USERS } from './users.js';
export type { DevUser } from './users.js';
export { DEMO_AGENT_CLIENTS, fetchDevClientToken } from './agent-clients.js';
export type { DevAgentClient } from './agent-clients.js';
