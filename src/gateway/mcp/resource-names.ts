/**
 * Upstream resource URIs are exposed as `custos://<server>/<upstream URI>`, the upstream URI
 * kept verbatim (not percent-encoded) so that URI templates (`{id}`) still expand on the
 * client. Prompts use the tool scheme, `<server>__<prompt>`.
 */
import { CustosError } from '../../kernel/index.js';
import { isValidServerName } from '../shared/tool-names.js';

export const RESOURCE_URI_PREFIX = 'custos://';

export function namespaceResourceUri(server: string, uri: string): string {
  return `${RESOURCE_URI_PREFIX}${server}/${uri}`;
}

/** Reverses namespaceResourceUri; throws ERR_GATEWAY_NOT_FOUND for a URI that is not one of Custos'. */
export function parseResourceUri(uri: string): { readonly server: string; readonly uri: string } {
  const rest = uri.startsWith(RESOURCE_URI_PREFIX) ? uri.slice(RESOURCE_URI_PREFIX.length) : '';
  const at = rest.indexOf('/');
  const server = at > 0 ? rest.slice(0, at) : '';
  const inner = at > 0 ? rest.slice(at + 1) : '';
  if (!isValidServerName(server) || inner.length === 0) {
    throw new CustosError('ERR_GATEWAY_NOT_FOUND', 'The resource URI is not of the form custos://<server>/<uri>.');
  }
  return { server, uri: inner };
}

/**
 * Rewrites the `uri` of every `resource_link` content block (in `content` arrays and prompt
 * `messages`) into Custos' namespace, so the client can follow the link through Custos.
 * Embedded resources keep their upstream URI: they carry their content. Returns a copy.
 */
export function namespaceResourceLinks<T>(value: T, server: string): T {
  const mapBlock = (block: unknown): unknown => {
    if (block && typeof block === 'object' && (block as { type?: unknown }).type === 'resource_link') {
      const link = block as { uri?: unknown };
      if (typeof link.uri === 'string') return { ...link, uri: namespaceResourceUri(server, link.uri) };
    }
    return block;
  };
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (Array.isArray(out.content)) out.content = out.content.map(mapBlock);
  if (Array.isArray(out.messages)) {
    out.messages = out.messages.map((m: unknown) =>
      m && typeof m === 'object' ? { ...(m as object), content: mapBlock((m as { content?: unknown }).content) } : m,
    );
  }
  return out as T;
}

/** Namespaces the `uri` of each entry of `contents` (a resources/read result). */
export function namespaceContents<T>(value: T, server: string): T {
  if (!value || typeof value !== 'object' || !Array.isArray((value as { contents?: unknown }).contents)) return value;
  const contents = (value as unknown as { contents: unknown[] }).contents.map((c) =>
    c && typeof c === 'object' && typeof (c as { uri?: unknown }).uri === 'string'
      ? { ...(c as object), uri: namespaceResourceUri(server, (c as { uri: string }).uri) }
      : c,
  );
  return { ...(value as object), contents } as T;
}
