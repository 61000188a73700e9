/** The break-glass e2e tests' users beside the demo users: dana holds the break-glass entitlement (not a clinician), carol is the admin who reviews her grants. */
import { DEMO_USERS } from './harness.js';

export const DANA = { username: 'dana', sub: 'dana', email: 'dana@example.test', roles: ['break-glass'], tenant: 'general-hospital' };
export const CAROL = { username: 'carol', sub: 'carol', email: 'carol@example.test', roles: ['custos-admin'], tenant: 'general-hospital' };

/** `startHarness({ users: EMERGENCY_USERS })`: the demo users, dana and carol. */
export const EMERGENCY_USERS = [...DEMO_USERS, DANA, CAROL];
