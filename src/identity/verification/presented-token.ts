/**
 * The exact token a verified principal was presented with, remembered per Principal object
 * (weakly: gone with the principal) for one purpose only: the subject of an RFC 8693 exchange
 * at the user's own IdP (`upstreams[].identity.mode: idp-exchange`). It never leaves the
 * identity module except to that IdP's token endpoint; nothing else reads it.
 */
import type { Principal } from '../../kernel/index.js';

const presented = new WeakMap<Principal, string>();

export function rememberPresentedToken(principal: Principal, token: string): void {
  presented.set(principal, token);
}

export function presentedToken(principal: Principal): string | undefined {
  return presented.get(principal);
}
