/**
 * Debian's Chromium driven by playwright-core, for the console's browser test and benchmark:
 * one browser per file, a fresh context per user, signed in through the dev identity
 * provider's login page (no login_hint: the user types the name, as a person would).
 */
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Headless, no sandbox (root in CI); playwright-core gives the browser a fresh --user-data-dir of its own (a temporary folder) each launch. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface SignedIn {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Requests to anything but Custos and the issuer. */
  readonly foreign: string[];
  /** Console messages about the Content-Security-Policy (a blocked script, style or request). */
  readonly cspViolations: string[];
}

/** Opens the console in a fresh context and signs `user` in at the issuer's login page. */
export async function signInConsole(browser: Browser, custosUrl: string, issuer: string, user: string): Promise<SignedIn> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const allowed = [new URL(custosUrl).origin, new URL(issuer).origin];
  const foreign: string[] = [];
  const cspViolations: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol.startsWith('http') && !allowed.includes(u.origin)) foreign.push(r.url());
  });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`);
  });
  await page.goto(`${custosUrl}/console/`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${new URL(issuer).origin}/**`);
  await page.getByLabel('User').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('whoami').waitFor();
  return { context, page, foreign, cspViolations };
}
