import { describe, expect, it } from 'vitest';
import { buildPrincipal } from './claims.js';
import { findMachineMarker } from './machine-token.js';

describe('findMachineMarker', () => {
  it.each([
    [{ sub: 'svc', client_id: 'svc' }, 'svc', 'sub_is_client'],
    [{ sub: 'x', idtyp: 'app' }, undefined, 'entra_idtyp_app'],
    [{ sub: 'x@clients', gty: 'client-credentials' }, undefined, 'auth0_gty'],
    [{ sub: 'x', gty: 'client_credentials' }, undefined, 'auth0_gty'],
    [{ sub: 'u-1', preferred_username: 'service-account-reports' }, undefined, 'keycloak_service_account'],
    [{ sub: '0oa1', cid: '0oa1' }, undefined, 'okta_cid_is_sub'],
    [{ sub: 'x', grant_type: 'client_credentials' }, undefined, 'client_credentials_grant'],
  ] as const)('finds %j', (claims, clientId, marker) => {
    expect(findMachineMarker(claims, claims.sub, clientId)).toBe(marker);
  });

  it.each([
    [{ sub: 'alice', client_id: 'web', idtyp: 'user' }],
    [{ sub: 'alice', gty: 'password' }],
    [{ sub: 'alice', preferred_username: 'alice.service-account-fan' }],
    [{ sub: '00u1', cid: '0oa1' }],
    [{ sub: 'alice', grant_type: 'authorization_code' }],
  ])('finds none in a user token %j', (claims) => {
    expect(findMachineMarker(claims, claims.sub, 'web')).toBeUndefined();
  });

  it('marks the principal built from a machine token, and only that one', () => {
    expect(buildPrincipal({ sub: 'x@clients', gty: 'client-credentials' }, 'https://t.example', {}).machine).toBe('auth0_gty');
    expect(buildPrincipal({ sub: 'alice', azp: 'web' }, 'https://t.example', {}).machine).toBeUndefined();
  });
});
