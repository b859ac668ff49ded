import { Browser } from './support/browser.js';
import { ChatPage } from './support/chat-page.js';
import { ClientBundle } from './support/client-bundle.js';
import { SampleProcess } from './support/sample-process.js';

/**
 * The sample's chat page (sample/public) in a real Chromium against one
 * sample instance (a child process on 127.0.0.1, in memory: no Redis).
 */
describe('chat page, one instance', () => {
  let bundle: ClientBundle;
  let sample: SampleProcess;
  let browser: Browser;

  beforeAll(async () => {
    bundle = await ClientBundle.build();
    [sample, browser] = await Promise.all([SampleProcess.start({ clientJs: bundle.file }), Browser.launch()]);
  }, 45_000);

  afterAll(async () => {
    await browser?.close();
    await sample?.stop();
    bundle?.remove();
  });

  const open = async (query: string): Promise<ChatPage> => new ChatPage(await browser.open(`${sample.url}/?${query}`));

  it('serves the page and the client bundle', async () => {
    const page = await fetch(`${sample.url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    const client = await fetch(`${sample.url}/client.js`);
    expect(client.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await client.text()).toMatch(/export\s*\{/);
  });

  it('two pages chat in a room: presence, messages in one order, the connection state', async () => {
    const ada = await open('room=lobby&nick=ada');
    const bob = await open('room=lobby&nick=bob');
    await ada.waitForPresence(['ada', 'bob']);
    await bob.waitForPresence(['ada', 'bob']);
    expect(await ada.state()).toBe('connected');
    expect(await ada.server()).toBe(`127.0.0.1:${sample.port}`);

    await ada.say('hello bob');
    await bob.waitForMessages(1);
    await bob.say('hi ada');
    await ada.say('how are you?');
    const expected = ['ada: hello bob', 'bob: hi ada', 'ada: how are you?'];
    await expect(ada.waitForMessages(3)).resolves.toEqual(expected);
    await expect(bob.waitForMessages(3)).resolves.toEqual(expected);
    await browser.screenshot(ada.page, 'chat');

    // Another room does not see them; leaving updates the others' presence.
    const eve = await open('room=kitchen&nick=eve');
    await eve.waitForPresence(['eve']);
    expect(await eve.messages()).toEqual([]);
    await bob.page.click('#leave');
    await ada.waitForPresence(['ada']);
    expect(await ada.systemLines()).toContain('bob left.');
    await Promise.all([ada, bob, eve].map((chat) => chat.page.close()));
  });

  it('shows validation errors as the server coded them', async () => {
    const ada = await open('room=errors&nick=ada');
    await ada.waitForPresence(['ada']);

    await ada.say('   ');
    await expect(ada.error()).resolves.toEqual({ code: 'VALIDATION_FAILED', message: 'Validation failed', details: ['text: text should not be empty'] });

    await ada.say('x'.repeat(281));
    await ada.page.waitForSelector('#error .details li:text("280")');
    await expect(ada.error()).resolves.toEqual({
      code: 'VALIDATION_FAILED',
      message: 'Validation failed',
      details: ['text: text must be shorter than or equal to 280 characters'],
    });
    // The rejected text is kept in the field, to fix and send again.
    expect(await ada.page.inputValue('#text')).toBe('x'.repeat(281));
    await browser.screenshot(ada.page, 'validation-error');
    expect(await ada.messages()).toEqual([]);

    // A valid message clears the error.
    await ada.say('fixed');
    await ada.waitForMessages(1);
    expect(await ada.page.isHidden('#error')).toBe(true);

    // A bad nickname at join: the join form's error.
    const nobody = await open('');
    await nobody.page.fill('#nick', '');
    await nobody.page.fill('#room', 'no spaces here');
    await nobody.page.click('#join');
    const error = await nobody.error();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual(expect.arrayContaining(['nick: nick should not be empty', 'room: room must be 1-32 letters, digits, "-" or "_"']));
    await Promise.all([ada, nobody].map((chat) => chat.page.close()));
  });
});
