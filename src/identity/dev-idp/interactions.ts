/**
 * DEV ONLY. The interaction route of the dev identity provider: there is no login page.
 * The user named by `login_hint` is logged in without a password and consent is granted
 * for whatever scope and resource was asked. Never expose this outside a developer machine.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { findDevUser } from './users.js';
import type { DevUser } from './users.js';

export const INTERACTION_PATH = '/interaction/';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(text);
}

async function finishLogin(provider: Provider, users: readonly DevUser[], req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
  const user = findDevUser(users, interaction.params.login_hint);
  if (!user) {
    sendText(res, 400, 'dev identity provider: login_hint does not name a demo user\n');
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
}

async function finishConsent(provider: Provider, req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
  const { prompt, params, session, grantId } = interaction;
  const accountId = session?.accountId;
  if (!accountId || typeof params.client_id !== 'string') {
    sendText(res, 400, 'dev identity provider: no session for consent\n');
    return;
  }
  const grant = (grantId ? await provider.Grant.find(grantId) : undefined) ?? new provider.Grant({ accountId, clientId: params.client_id });
  const details = prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const savedId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: savedId } }, { mergeWithLastSubmission: true });
}

/** Handles GET /interaction/:uid by finishing the login or consent prompt automatically. */
export async function handleInteraction(provider: Provider, users: readonly DevUser[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET') {
    sendText(res, 405, 'method not allowed\n');
    return;
  }
  let interaction: Interaction;
  try {
    interaction = await provider.interactionDetails(req, res);
  } catch {
    sendText(res, 400, 'dev identity provider: interaction not found or expired\n');
    return;
  }
  switch (interaction.prompt.name) {
    case 'login':
      return finishLogin(provider, users, req, res, interaction);
    case 'consent':
      return finishConsent(provider, req, res, interaction);
    default:
      sendText(res, 400, 'dev identity provider: unsupported prompt\n');
  }
}
