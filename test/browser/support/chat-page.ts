import type { Page } from 'playwright-core';

// What the functions run in the page use (the project's TypeScript has no DOM library).
interface PageElement {
  readonly textContent: string | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement> };
declare const window: { chat: { client: { stats: Record<string, number> } } };

/**
 * The chat page as a user drives it: the form fields, the lists, the state
 * badge. Waits poll every 50 ms: the default (requestAnimationFrame) barely
 * runs in a tab that is not in front.
 */
export class ChatPage {
  constructor(readonly page: Page) {}

  /** Types a message and presses Enter. */
  async say(text: string): Promise<void> {
    await this.page.fill('#text', text);
    await this.page.press('#text', 'Enter');
  }

  /** The chat messages shown, as `nick: text`, in page order (system lines left out). */
  messages(): Promise<string[]> {
    return this.page.$$eval('#messages li.message', (items) =>
      items.map((item) => `${item.querySelector('.nick')?.textContent}: ${item.querySelector('.text')?.textContent}`),
    );
  }

  /** Until `count` chat messages show; returns them. */
  async waitForMessages(count: number, timeout = 5000): Promise<string[]> {
    await this.page.waitForFunction((n) => document.querySelectorAll('#messages li.message').length >= n, count, { timeout, polling: 50 });
    return this.messages();
  }

  systemLines(): Promise<string[]> {
    return this.page.$$eval('#messages li.system', (items) => items.map((item) => item.textContent ?? ''));
  }

  presence(): Promise<string[]> {
    return this.page.$$eval('#presence li', (items) => items.map((item) => item.textContent ?? ''));
  }

  /** Until the presence list is exactly these nicknames. */
  async waitForPresence(nicks: readonly string[], timeout = 5000): Promise<void> {
    await this.page.waitForFunction(
      (expected) => [...document.querySelectorAll('#presence li')].map((item) => item.textContent).join(',') === expected,
      [...nicks].sort().join(','),
      { timeout, polling: 50 },
    );
  }

  state(): Promise<string | undefined> {
    return this.page.$eval('#state', (badge) => (badge as unknown as { dataset: Record<string, string | undefined> }).dataset.state);
  }

  async waitForState(state: string, timeout = 5000): Promise<void> {
    await this.page.waitForSelector(`#state[data-state="${state}"]`, { timeout });
  }

  /** `host:port` of the instance the page is connected to. */
  server(): Promise<string> {
    return this.page.$eval('#server', (element) => element.textContent ?? '');
  }

  /** The error box: the code, the message, the details, as shown. */
  async error(timeout = 5000): Promise<{ code: string; message: string; details: string[] }> {
    await this.page.waitForSelector('#error:not([hidden])', { timeout });
    return this.page.$eval('#error', (box) => ({
      code: box.querySelector('.code')?.textContent ?? '',
      message: box.querySelector('.message')?.textContent ?? '',
      details: [...box.querySelectorAll('.details li')].map((item) => item.textContent ?? ''),
    }));
  }

  /** The client's counters (reconnects, duplicates dropped...). */
  stats(): Promise<Record<string, number>> {
    return this.page.evaluate(() => window.chat.client.stats);
  }
}
