import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ARTIFACTS } from './paths.js';

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM overrides. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

declare const window: object;

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A real Chromium with an empty profile in a fresh temporary directory
 * (Playwright takes the profile directory as launchPersistentContext's
 * argument, its `--user-data-dir`), removed at close. Pages keep what they
 * logged, for a failing test's message.
 */
export class Browser {
  private readonly logs = new Map<Page, string[]>();

  private constructor(
    private readonly context: BrowserContext,
    private readonly profile: string,
  ) {}

  static async launch(): Promise<Browser> {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`No Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (Debian), or set CHROMIUM to a Chromium or Chrome executable.`);
    }
    const profile = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1000, height: 640 },
      timeout: 20_000,
    });
    context.setDefaultTimeout(5_000);
    return new Browser(context, profile);
  }

  /** A new tab on `url`, once its module script has run (window.chat is set). */
  async open(url: string): Promise<Page> {
    const page = await this.context.newPage();
    const log: string[] = [];
    this.logs.set(page, log);
    page.on('console', (message) => log.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => log.push(`pageerror: ${error.message}`));
    await page.goto(url);
    await page.waitForFunction(() => 'chat' in window);
    return page;
  }

  log(page: Page): string {
    return (this.logs.get(page) ?? []).join('\n');
  }

  async screenshot(page: Page, name: string): Promise<string> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path });
    return path;
  }

  /** Closes Chromium (bounded: Playwright kills it with this process anyway) and removes the profile. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)));
    await Promise.race([this.context.close().catch(() => undefined), bounded]);
    clearTimeout(timer);
    rmSync(this.profile, { recursive: true, force: true });
  }
}
