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

/** A demo account of the general hospital: username and sub alike, email at example.test. */
function demoUser(username: string, name: string, role: string): DevUser {
  return Object.freeze({ username, sub: username, name, email: `${username}@example.test`, roles: Object.freeze([role]), tenant: 'general-hospital' });
}

export const DEMO_USERS: readonly DevUser[] = Object.freeze([
  demoUser('alice', 'Alice Clinician', 'clinician'),
  demoUser('bob', 'Bob Billing', 'billing'),
  // The console's demo users (issue 17): read-only auditor, security officer, Custos admin.
  demoUser('audrey', 'Audrey Auditor', 'auditor'),
  demoUser('sam', 'Sam Security', 'security'),
  demoUser('ada', 'Ada Admin', 'custos-admin'),
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
