/**
 * DEV ONLY: OpenID Connect Back-Channel Logout from the dev provider. With a logout URI
 * configured, the dev client registers it (session required), and `backchannelLogout(sub, sid)`
 * makes oidc-provider sign a real logout token with its keys and POST it there.
 */
import type Provider from 'oidc-provider';

/** Client metadata registering the back-channel logout URI (none when no URI is configured). */
export function backchannelClientMetadata(uri: string | undefined): Record<string, unknown> {
  return uri === undefined ? {} : { backchannel_logout_uri: uri, backchannel_logout_session_required: true };
}

/** The provider feature, enabled only when a logout URI is configured. */
export function backchannelFeature(uri: string | undefined): { backchannelLogout?: { enabled: boolean } } {
  return uri === undefined ? {} : { backchannelLogout: { enabled: true } };
}

/** Signs a logout token for (sub, sid) and posts it to the client's back-channel logout URI; throws when it is refused. */
export async function sendBackchannelLogout(provider: Provider, clientId: string, sub: string, sid: string): Promise<void> {
  const client = await provider.Client.find(clientId);
  if (!client) throw new Error(`dev identity provider: no client ${clientId}`);
  await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(sub, sid);
}
