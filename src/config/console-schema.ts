/** The `console` section: the web console Custos serves at /console (issue 17). */
import { z } from 'zod';

const roleList = (fallback: string[], what: string) =>
  z.array(z.string().min(1)).default(fallback).describe(`Token roles (\`identity.issuers[].claims.roles\`) that make a user a console ${what}.`);

export const consoleSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve the web console at /console (static files built by `npm run build`; absent build: 404).'),
    clientId: z
      .string()
      .min(1)
      .max(200)
      .default('custos-console')
      .describe(
        'The OIDC client id of the console at the first issuer: a public client (no secret), authorization code with PKCE, redirect URI `<server URL>/console/`.',
      ),
    scope: z.string().min(1).max(500).default('openid email').describe('The scope the console asks for at sign-in.'),
    roles: z
      .strictObject({
        admin: roleList(['custos-admin'], '`admin` (every page and action)'),
        security: roleList(['security'], '`security` (reads every page; acknowledges alerts)'),
        auditor: roleList(['auditor'], '`auditor` (reads every page, never acts)'),
      })
      .prefault({})
      .describe('Console roles from token roles. The server enforces each action with its own route roles; these decide what the console shows.'),
  })
  .prefault({})
  .describe('The web console (audit explorer, live view, alerts, inventory, policy, reviews, evidence).');
