/**
 * No user, no call: recognises a machine's own token (OAuth client credentials, no human
 * behind it) by each IdP's own markers. The first marker found names the rule in the
 * principal (`Principal.machine`); the session guard refuses such a principal at every
 * front door (`no_user`). Markers (docs/identity.md#no-user-no-phi):
 *
 * - `sub = client id`         RFC 9068 §2.2 client-credentials tokens (the quick start's provider, Okta with `cid` mapped)
 * - `idtyp = app`             Microsoft Entra ID app-only tokens
 * - `gty = client-credentials` Auth0 (also the RFC-style spelling `client_credentials`)
 * - `preferred_username = service-account-…` Keycloak service accounts
 * - `cid = sub`               Okta client-credentials tokens
 * - `grant_type = client_credentials` IdPs that name the grant in the token
 */
type Claims = Readonly<Record<string, unknown>>;

export const MACHINE_MARKERS = [
  'sub_is_client',
  'entra_idtyp_app',
  'auth0_gty',
  'keycloak_service_account',
  'okta_cid_is_sub',
  'client_credentials_grant',
] as const;
export type MachineMarker = (typeof MACHINE_MARKERS)[number];

const CLIENT_CREDENTIALS = new Set(['client-credentials', 'client_credentials']);

/** The first machine marker the verified claims carry (`clientId` is the mapped client), or undefined for a user's token. */
export function findMachineMarker(claims: Claims, sub: string, clientId: string | undefined): MachineMarker | undefined {
  if (clientId !== undefined && sub === clientId) return 'sub_is_client';
  if (claims.idtyp === 'app') return 'entra_idtyp_app';
  if (typeof claims.gty === 'string' && CLIENT_CREDENTIALS.has(claims.gty)) return 'auth0_gty';
  if (typeof claims.preferred_username === 'string' && claims.preferred_username.startsWith('service-account-')) return 'keycloak_service_account';
  if (typeof claims.cid === 'string' && claims.cid === sub) return 'okta_cid_is_sub';
  if (typeof claims.grant_type === 'string' && CLIENT_CREDENTIALS.has(claims.grant_type)) return 'client_credentials_grant';
  return undefined;
}
