/** Demo accounts of the dev-only identity provider. Not a user store: fixtures for the quick start and tests. */

export interface DevUser {
  /** What `login_hint` (and `custos token --user`) names. */
  readonly username: string;
  readonly sub: string;
  readonly name?: string;
  readonly email?: string;
  readonly roles?: readonly string[];
  readonly groups?: readonly string[];
  readonly tenant?: string;
}

export const DEMO_USERS: readonly DevUser[] = Object.freeze([
  Object.freeze({
    username: 'alice',
    sub: 'alice',
    name: 'Alice Clinician',
    email: 'alice@example.test',
    roles: Object.freeze(['clinician']),
    tenant: 'general-hospital',
  }),
  Object.freeze({
    username: 'bob',
    sub: 'bob',
    name: 'Bob Billing',
    email: 'bob@example.test',
    roles: Object.freeze(['billing']),
    tenant: 'general-hospital',
  }),
  // The console's demo users (issue 17): read-only auditor, security officer, Custos admin.
  Object.freeze({
    username: 'audrey',
    sub: 'audrey',
    name: 'Audrey Auditor',
    email: 'audrey@example.test',
    roles: Object.freeze(['auditor']),
    tenant: 'general-hospital',
  }),
  Object.freeze({
    username: 'sam',
    sub: 'sam',
    name: 'Sam Security',
    email: 'sam@example.test',
    roles: Object.freeze(['security']),
    tenant: 'general-hospital',
  }),
  Object.freeze({
    username: 'ada',
    sub: 'ada',
    name: 'Ada Admin',
    email: 'ada@example.test',
    roles: Object.freeze(['custos-admin']),
    tenant: 'general-hospital',
  }),
]);

/** The claims the provider's access tokens carry for a user (besides sub, sid and client_id). */
export function devUserClaims(user: DevUser): Record<string, unknown> {
  return {
    ...(user.email === undefined ? {} : { email: user.email }),
    ...(user.name === undefined ? {} : { name: user.name }),
    roles: [...(user.roles ?? [])],
    ...(user.groups === undefined ? {} : { groups: [...user.groups] }),
    ...(user.tenant === undefined ? {} : { tenant: user.tenant }),
  };
}

/** Finds a user by username, then by sub. */
export function findDevUser(users: readonly DevUser[], hint: unknown): DevUser | undefined {
  if (typeof hint !== 'string' || hint === '') return undefined;
  return users.find((u) => u.username === hint) ?? users.find((u) => u.sub === hint);
}
