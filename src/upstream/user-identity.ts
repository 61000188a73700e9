/**
 * The user's identity at the tool (HTTP upstreams with `identity`). The pool runs each call
 * forwarded to such an upstream inside the caller's context (`withUser`; only there: entering an
 * AsyncLocalStorage switches on Node 20's promise hooks for the whole process, and every promise
 * then pays for them, about 5 % of the gateway's CPU per call); the upstream's transport fetch
 * then asks the UpstreamTokenIssuer for a token for this user and the upstream's audience and
 * sends it in the configured header. Requests outside a call (initialize, lists on a shared
 * connection) carry only the static headers. The user's own token is never forwarded: the
 * pool never sees it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Principal, UpstreamConfig, UpstreamTokenIssuer } from '../kernel/index.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

const currentUser = new AsyncLocalStorage<Principal>();

/** Runs `fn` as a call for `user` (no user: as it is). */
export function withUser<T>(user: Principal | undefined, fn: () => Promise<T>): Promise<T> {
  return user === undefined ? fn() : currentUser.run(user, fn);
}

/** The transport's fetch for an upstream with `identity`: adds the user's token to requests made for a call. */
export function createIdentityFetch(config: UpstreamConfig, issuer: UpstreamTokenIssuer, base: FetchLike = fetch): FetchLike {
  const identity = config.identity!;
  const audience = identity.audience ?? (config.url as string);
  const header = (identity.header ?? 'authorization').toLowerCase();
  return async (input, init) => {
    const user = currentUser.getStore();
    if (user === undefined) return base(input, init);
    const token = await issuer.issue(user, audience, identity.mode);
    const headers = new Headers(init?.headers);
    headers.set(header, header === 'authorization' ? `Bearer ${token}` : token);
    return base(input, { ...init, headers });
  };
}
