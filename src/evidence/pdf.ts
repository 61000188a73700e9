/**
 * report.pdf: report.html printed by Debian's Chromium, headless, through playwright-core (no
 * browser download). The launch flags keep it offline and stateless: no background networking,
 * no component updates, no sync, and a fresh profile directory removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CustosError } from '../kernel/index.js';

export const CHROMIUM_PATH = process.env.CUSTOS_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
] as const;

export interface RenderedPages {
  /** PNG screenshots of the first pages (viewport-sized), when asked for. */
  readonly screenshots: Buffer[];
}

/** Prints `htmlFile` to `pdfFile` (A4); with `screenshots`, also takes that many viewport screenshots from the top. */
export async function printPdf(htmlFile: string, pdfFile: string, options: { screenshots?: number } = {}): Promise<RenderedPages> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(tmpdir(), 'custos-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      viewport: { width: 1024, height: 1400 },
      offline: true,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new CustosError('ERR_CONFIG_INVALID', `Chromium (${CHROMIUM_PATH}) could not start: apt-get install -y chromium, or set CUSTOS_CHROMIUM`, {
      cause: err,
    });
  }
  try {
    const page = await context.newPage();
    // Only the report itself may load: anything else it asked for would be a leak.
    await page.route('**/*', (route) => (route.request().url() === pathToFileURL(htmlFile).href ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    await page.pdf({ path: pdfFile, format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' } });
    const screenshots: Buffer[] = [];
    for (let i = 0; i < (options.screenshots ?? 0); i++) {
      await page.evaluate(`window.scrollTo(0, ${i * 1400})`);
      screenshots.push(await page.screenshot());
    }
    return { screenshots };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
