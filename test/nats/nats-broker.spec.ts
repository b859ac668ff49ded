import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { nodeChannel, pathChannel, roomChannel } from '../../lib/broker/channel.js';
import { ErrorCode } from '../../lib/errors/error-codes.js';
import { SwitchboardError } from '../../lib/errors/switchboard.error.js';
import { loadOptionalPackage } from '../../lib/internals/optional-package.js';
import { NatsBroker, channelOfSubject, natsSubject } from '../../lib/nats/index.js';

/** A NATS subject token may not hold '.', '*', '>', whitespace or NUL, and may not be empty. */
const VALID_TOKEN = /^[^\s.*>\u0000]+$/;

describe('natsSubject: hub channels as NATS subjects', () => {
  const channels = [
    roomChannel('/rooms', 'red'),
    roomChannel('/rooms', 'a.b.c'),
    roomChannel('/rooms', 'news.*'),
    roomChannel('/rooms', 'feed.>'),
    roomChannel('/rooms', 'with space\tand\r\nbreaks'),
    roomChannel('/rooms', 'nul\u0000inside'),
    roomChannel('/a', 'b'),
    roomChannel('/a', 'b\u0000c'),
    roomChannel('/rooms', 'ünïcødé 房间 🚀'),
    pathChannel('/rooms'),
    nodeChannel('abcdefgh'),
  ];

  it('gives one valid token after the prefix, and reverses to the channel', () => {
    for (const channel of channels) {
      const subject = natsSubject('sb', channel);
      const [prefix, ...tokens] = subject.split('.');
      expect(prefix).toBe('sb');
      expect(tokens).toHaveLength(1);
      expect(tokens[0]).toMatch(VALID_TOKEN);
      expect(channelOfSubject('sb', subject)).toBe(channel);
    }
  });

  it('is unambiguous: distinct channels (including NUL-shifted ones) get distinct subjects', () => {
    const subjects = new Set(channels.map((channel) => natsSubject('sb', channel)));
    expect(subjects.size).toBe(channels.length);
  });

  it('keeps a multi-token prefix as it is', () => {
    const subject = natsSubject('myapp.sb', roomChannel('/rooms', 'red'));
    expect(subject.startsWith('myapp.sb.')).toBe(true);
    expect(channelOfSubject('myapp.sb', subject)).toBe(roomChannel('/rooms', 'red'));
    expect(channelOfSubject('other', subject)).toBeUndefined();
  });

  it('hashes channels whose subject would pass 1,024 bytes, deterministically and distinctly', () => {
    const long = roomChannel('/rooms', 'x'.repeat(5000));
    const longer = roomChannel('/rooms', 'x'.repeat(5001));
    const subject = natsSubject('sb', long);
    expect(subject).toMatch(/^sb\.~[A-Za-z0-9_-]{43}$/);
    expect(natsSubject('sb', long)).toBe(subject);
    expect(natsSubject('sb', longer)).not.toBe(subject);
    expect(channelOfSubject('sb', subject)).toBeUndefined(); // Only its subscriber knows it (by its own list).
    // Just under the limit stays readable.
    const fits = roomChannel('/rooms', 'y'.repeat(700));
    expect(natsSubject('sb', fits).length).toBeLessThanOrEqual(1024);
    expect(channelOfSubject('sb', natsSubject('sb', fits))).toBe(fits);
  });
});

describe('NatsBroker options and use before attach', () => {
  it('refuses a prefix that is not a plain subject, and a bad maxBuffered', () => {
    for (const prefix of ['', 'a b', 'a.*', 'a.>', 'a..b', '.a', 'a.', 'nul\u0000']) {
      let thrown: unknown;
      try {
        new NatsBroker({ prefix });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(SwitchboardError);
      expect((thrown as SwitchboardError).code).toBe(ErrorCode.INVALID_OPTION);
    }
    expect(() => new NatsBroker({ maxBuffered: -1 })).toThrow(SwitchboardError);
    expect(() => new NatsBroker({ maxBuffered: 1.5 })).toThrow(SwitchboardError);
    expect(() => new NatsBroker({ prefix: 'myapp.sb', maxBuffered: 0 })).not.toThrow();
  });

  it('counts a publish before attach as dropped, never throws, and keeps a subscription made before attach for the connect', async () => {
    const broker = new NatsBroker();
    expect(() => broker.publish(roomChannel('/rooms', 'red'), Buffer.from('x'))).not.toThrow();
    await broker.subscribe([roomChannel('/rooms', 'red')]);
    expect(broker.stats()).toEqual({ published: 0, publishDropped: 1, publishBuffered: 0, received: 0, subscriptions: 1, reconnects: 0, resubscribeCommands: 0 });
    await broker.detach();
  });
});

describe('NatsBroker without the nats package', () => {
  afterEach(() => {
    jest.resetModules();
  });

  it('loadOptionalPackage turns a missing module into MISSING_PACKAGE, naming what to install', async () => {
    const missing = Object.assign(new Error("Cannot find package 'nats'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const load = (): Promise<unknown> => loadOptionalPackage('nats', 'the NATS broker (nestjs-switchboard/nats)', () => Promise.reject(missing));
    await expect(load()).rejects.toMatchObject({ code: ErrorCode.MISSING_PACKAGE });
    await expect(load()).rejects.toThrow('npm install nats');
    // Any other failure of the import is not disguised.
    const broken = new Error('syntax error in nats');
    await expect(loadOptionalPackage('nats', 'the NATS broker', () => Promise.reject(broken))).rejects.toBe(broken);
  });

  it('attach rejects with MISSING_PACKAGE when importing nats fails as a missing module does', async () => {
    jest.resetModules();
    jest.unstable_mockModule('nats', () => {
      throw Object.assign(new Error("Cannot find package 'nats' imported from lib/nats/nats.broker.ts"), { code: 'ERR_MODULE_NOT_FOUND' });
    });
    const { NatsBroker: Unavailable } = await import('../../lib/nats/nats.broker.js');
    const broker = new Unavailable();
    await expect(broker.attach(() => undefined)).rejects.toMatchObject({ code: ErrorCode.MISSING_PACKAGE, name: 'SwitchboardError' });
    expect(() => broker.publish('x', Buffer.from('y'))).not.toThrow();
  });
});
