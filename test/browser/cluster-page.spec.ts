import { freePort } from '../helpers/ports.js';
import { RedisProcess } from '../helpers/redis-server.js';
import { Browser } from './support/browser.js';
import { ChatPage } from './support/chat-page.js';
import { ClientBundle } from './support/client-bundle.js';
import { SampleProcess } from './support/sample-process.js';
import { TcpProxy } from './support/tcp-proxy.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const range = (count: number, label: string): string[] => Array.from({ length: count }, (_, i) => `${label} ${i + 1}`);

/**
 * Two sample instances (child processes) sharing rooms through a real
 * redis-server, each page in a real Chromium: chat across instances, a page
 * cut off for 10 s that gets every missed message once and in order, and a
 * page whose instance is killed that moves to the other one with its session.
 * Pages reconnect within 300 ms-1.2 s (`?retry=300`), not the client's 4-30 s
 * defaults.
 */
describe('chat page, two instances on Redis', () => {
  let bundle: ClientBundle;
  let redis: RedisProcess;
  let a: SampleProcess;
  let b: SampleProcess;
  let browser: Browser;
  const pages: ChatPage[] = [];

  beforeAll(async () => {
    bundle = await ClientBundle.build();
    redis = await RedisProcess.start();
    const [portA, portB] = [await freePort(), await freePort()];
    const start = (port: number, peer: number): Promise<SampleProcess> =>
      SampleProcess.start({ clientJs: bundle.file, port, redisUrl: redis.url, peers: [port, peer] });
    [a, b, browser] = await Promise.all([start(portA, portB), start(portB, portA), Browser.launch()]);
  }, 45_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    bundle?.remove();
  });

  const open = async (sample: SampleProcess, query: string): Promise<ChatPage> => {
    const chat = new ChatPage(await browser.open(`${sample.url}/?retry=300&${query}`));
    pages.push(chat);
    return chat;
  };

  /** Adds the page's own log and both instances' output to a failure. */
  const explained = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (failure) {
      const logs = pages.map((chat, i) => `--- page ${i}:\n${browser.log(chat.page)}`).join('\n');
      throw new Error(`${(failure as Error).message}\n${logs}\n--- instance A:\n${a.log().slice(-3000)}\n--- instance B:\n${b.log().slice(-3000)}`);
    }
  };

  it('pages on different instances chat in one room and see each other', () =>
    explained(async () => {
      const ada = await open(a, 'room=lobby&nick=ada');
      const bob = await open(b, 'room=lobby&nick=bob');
      expect(await ada.server()).toBe(`127.0.0.1:${a.port}`);
      expect(await bob.server()).toBe(`127.0.0.1:${b.port}`);
      await ada.waitForPresence(['ada', 'bob']);
      await bob.waitForPresence(['ada', 'bob']);

      await ada.say('hello from A');
      await bob.waitForMessages(1);
      await bob.say('hello from B');
      const expected = ['ada: hello from A', 'bob: hello from B'];
      await expect(ada.waitForMessages(2)).resolves.toEqual(expected);
      await expect(bob.waitForMessages(2)).resolves.toEqual(expected);
      await browser.screenshot(bob.page, 'chat-two-instances');
    }), 20_000);

  it('a page cut off for 10 s gets the 50 messages it missed, once and in order, and says recovered', () =>
    explained(async () => {
      const proxy = await TcpProxy.start(a.port);
      try {
        // cara's WebSocket goes through the proxy to A; dan is on B.
        const cara = await open(a, `room=outage&nick=cara&ws=${proxy.ws}`);
        const dan = await open(b, 'room=outage&nick=dan');
        await cara.waitForPresence(['cara', 'dan']);
        await dan.say('before the cut');
        await cara.waitForMessages(1);

        proxy.cut();
        const cutAt = Date.now();
        await cara.waitForState('reconnecting');
        await dan.waitForPresence(['dan']);
        const missed = range(50, 'missed');
        for (const text of missed) {
          await dan.say(text); // `ordered` on the gateway: handled in the order typed
        }
        const expected = ['dan: before the cut', ...missed.map((text) => `dan: ${text}`)];
        await expect(dan.waitForMessages(51, 10_000)).resolves.toEqual(expected);
        await sleep(10_000 - (Date.now() - cutAt));
        // Cut for real: nothing arrived, and the client kept trying.
        expect(await cara.state()).toBe('reconnecting');
        expect(await cara.messages()).toEqual(['dan: before the cut']);
        expect(proxy.refused).toBeGreaterThan(0);

        proxy.restore();
        await cara.waitForState('recovered', 8000);
        await expect(cara.waitForMessages(51)).resolves.toEqual(expected);
        expect(await cara.systemLines()).toContain('Recovered: 50 missed message(s) replayed.');
        await dan.waitForPresence(['cara', 'dan']);
        await browser.screenshot(cara.page, 'recovered');

        // Still live afterwards, both ways, and nothing was shown twice.
        await cara.say('back');
        await expect(dan.waitForMessages(52)).resolves.toEqual([...expected, 'cara: back']);
        await expect(cara.waitForMessages(52)).resolves.toEqual([...expected, 'cara: back']);
        expect((await cara.stats()).reconnects).toBe(1);
      } finally {
        await proxy.close();
      }
    }), 40_000);

  it('a page whose instance is killed moves to the other one with its session recovered', () =>
    explained(async () => {
      // eve's page comes from A: it connects to A first, then to B (SAMPLE_PEERS).
      const eve = await open(a, 'room=failover&nick=eve');
      const fay = await open(b, 'room=failover&nick=fay');
      await eve.waitForPresence(['eve', 'fay']);
      await eve.say('before the kill');
      await fay.waitForMessages(1);

      await a.kill(); // SIGKILL: no shutdown hook, no goodbye
      const during = range(5, 'during');
      for (const text of during) {
        await fay.say(text);
      }
      await eve.waitForState('recovered', 10_000);
      expect(await eve.server()).toBe(`127.0.0.1:${b.port}`);
      const expected = ['eve: before the kill', ...during.map((text) => `fay: ${text}`)];
      await expect(eve.waitForMessages(6)).resolves.toEqual(expected);
      await browser.screenshot(eve.page, 'failover');

      await eve.say('on B now');
      await expect(fay.waitForMessages(7)).resolves.toEqual([...expected, 'eve: on B now']);
      await expect(eve.waitForMessages(7)).resolves.toEqual([...expected, 'eve: on B now']);
      await fay.waitForPresence(['eve', 'fay'], 8000);
    }), 30_000);
});
