/**
 * DEV ONLY. The interaction routes of the dev identity provider. A user named by
 * `login_hint` is logged in at once, without a password; otherwise `GET /interaction/:uid`
 * shows a one-field login page (a demo user name, no password) that posts to
 * `POST /interaction/:uid/login`. Consent is granted for whatever scope and resource was
 * asked. Never expose this outside a developer machine.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { findDevUser } from './users.js';
import type { DevUser } from './users.js';

export const INTERACTION_PATH = '/interaction/';
/** The login form's only field: a demo user's name. */
export const LOGIN_FIELD = 'username';
const MAX_FORM_BYTES = 4096;

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(text);
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The dev login page: one text field, posted to /interaction/:uid/login. */
function sendLoginPage(res: ServerResponse, uid: string, users: readonly DevUser[], problem?: string): void {
  res.statusCode = problem === undefined ? 200 : 400;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  const names = users.map((u) => escapeHtml(u.username)).join(', ');
  res.end(
    `<!doctype html><html><head><meta charset="utf-8"><title>Custos dev sign-in</title></head><body>` +
      `<h1>DEV-ONLY sign-in</h1><p>Demo users: ${names}. No password: never use this provider in production.</p>` +
      (problem === undefined ? '' : `<p role="alert">${escapeHtml(problem)}</p>`) +
      `<form method="post" action="${INTERACTION_PATH}${encodeURIComponent(uid)}/login">` +
      `<label>User <input name="${LOGIN_FIELD}" autofocus></label> <button type="submit">Sign in</button></form></body></html>`,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function login(provider: Provider, user: DevUser, req: IncomingMessage, res: ServerResponse): Promise<void> {
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

/** GET: login by hint, the login page, or consent. */
async function showInteraction(
  provider: Provider,
  users: readonly DevUser[],
  req: IncomingMessage,
  res: ServerResponse,
  interaction: Interaction,
): Promise<void> {
  switch (interaction.prompt.name) {
    case 'login': {
      const hint = interaction.params.login_hint;
      if (hint === undefined) return sendLoginPage(res, interaction.uid, users);
      const user = findDevUser(users, hint);
      if (!user) return sendText(res, 400, 'dev identity provider: login_hint does not name a demo user\n');
      return login(provider, user, req, res);
    }
    case 'consent':
      return finishConsent(provider, req, res, interaction);
    default:
      return sendText(res, 400, 'dev identity provider: unsupported prompt\n');
  }
}

/** POST /interaction/:uid/login: the login page's answer. */
async function submitLogin(provider: Provider, users: readonly DevUser[], req: IncomingMessage, res: ServerResponse, interaction: Interaction): Promise<void> {
  if (interaction.prompt.name !== 'login') return sendText(res, 400, 'dev identity provider: this interaction is not waiting for a login\n');
  const form = await readForm(req);
  if (!form) return sendText(res, 413, 'dev identity provider: form too large\n');
  const user = findDevUser(users, form.get(LOGIN_FIELD));
  if (!user) return sendLoginPage(res, interaction.uid, users, 'No demo user has that name.');
  return login(provider, user, req, res);
}

/** Handles GET /interaction/:uid and POST /interaction/:uid/login. */
export async function handleInteraction(provider: Provider, users: readonly DevUser[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const isLogin = req.method === 'POST' && path.endsWith('/login');
  if (req.method !== 'GET' && !isLogin) return sendText(res, 405, 'method not allowed\n');
  let interaction: Interaction;
  try {
    interaction = await provider.interactionDetails(req, res);
  } catch {
    return sendText(res, 400, 'dev identity provider: interaction not found or expired\n');
  }
  return isLogin ? submitLogin(provider, users, req, res, interaction) : showInteraction(provider, users, req, res, interaction);
}
