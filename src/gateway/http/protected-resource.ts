/** RFC 9728 OAuth 2.0 Protected Resource Metadata for the MCP endpoint. */
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

export interface ProtectedResourceMetadata {
  readonly resource: string;
  readonly authorization_servers: readonly string[];
  readonly bearer_methods_supported: readonly ['header'];
  readonly scopes_supported: readonly string[];
  readonly resource_name: string;
}

export function buildProtectedResourceMetadata(
  resourceUrl: string,
  authorizationServers: readonly string[],
  scopes: readonly string[],
): ProtectedResourceMetadata {
  return {
    resource: resourceUrl,
    authorization_servers: [...authorizationServers],
    bearer_methods_supported: ['header'],
    scopes_supported: [...scopes],
    resource_name: 'Custos MCP gateway',
  };
}

/** `<origin>/.well-known/oauth-protected-resource`, the URL announced in WWW-Authenticate. */
export function protectedResourceMetadataUrl(resourceUrl: string): string {
  return new URL(PROTECTED_RESOURCE_PATH, resourceUrl).href;
}

/** The paths the metadata is served at: the origin-level one and the RFC 9728 path-suffixed one. */
export function protectedResourcePaths(resourceUrl: string): string[] {
  const path = new URL(resourceUrl).pathname.replace(/\/+$/, '');
  return path && path !== '/' ? [PROTECTED_RESOURCE_PATH, `${PROTECTED_RESOURCE_PATH}${path}`] : [PROTECTED_RESOURCE_PATH];
}
