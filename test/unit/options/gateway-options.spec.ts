import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { ErrorCode } from '../../../lib/errors/error-codes.js';
import { SwitchboardError } from '../../../lib/errors/switchboard.error.js';
import type { SwitchboardAdapterOptions, SwitchboardGatewayOptions } from '../../../lib/interfaces/adapter-options.interface.js';
import type { Codec } from '../../../lib/interfaces/codec.interface.js';
import type { SwitchboardGatewayBehaviour } from '../../../lib/interfaces/gateway-behaviour.interface.js';
import {
  BEHAVIOUR_OPTION_KEYS,
  DEFAULT_MAX_PAYLOAD,
  DEFAULTS,
  resolveAdapterOptions,
  splitGatewayOptions,
  type ResolvedGatewayBehaviour,
} from '../../../lib/options/gateway-options.js';
import { JsonCodec } from '../../../lib/protocol/json.codec.js';
import { thrownBy } from '../fakes.js';

// Type-level: the defaults literal and the public behaviour interface name the same options, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const SAME_KEYS: Same<keyof typeof DEFAULTS.behaviour, keyof SwitchboardGatewayBehaviour> = true;

// Type-level: a misspelled gateway option is a type error (issue 10, item 4).
// @ts-expect-error heartbeatIntervall is not an option
const MISSPELLED: SwitchboardGatewayOptions = { heartbeatIntervall: 5000 };

type GatewayInput = Parameters<typeof splitGatewayOptions>[1];

const codec: Codec = { name: 'custom', binary: true, decode: () => null, encode: () => Buffer.alloc(0) };

/** A valid value other than the default for every behaviour option; tsc makes it complete. */
const SAMPLE: Required<SwitchboardGatewayBehaviour> = {
  codec,
  invalidMessage: 'reply',
  unknownEvent: 'reply',
  maxDepth: 8,
  ordered: true,
  maxPayload: 2048,
  closeTimeout: 5,
  drainTimeout: 6,
  shutdownCloseCode: 1012,
  heartbeatInterval: 0,
  compression: { level: 3 },
  rateLimit: { messagesPerSecond: 4 },
  maxConnections: 3,
  maxConnectionsPerIp: 2,
  backpressure: { policy: 'close' },
  auth: { origins: ['https://example.org'] },
};

/** What each SAMPLE value resolves to. */
const SAMPLE_RESOLVED: { [K in keyof SwitchboardGatewayBehaviour]-?: unknown } = {
  ...SAMPLE,
  compression: { ...DEFAULTS.compression, level: 3 },
  rateLimit: { messagesPerSecond: 4, burst: 4, closeAfter: 100 },
  backpressure: { highWaterMark: 1024 * 1024, policy: 'close', closeAt: 8 * 1024 * 1024 },
};

describe('DEFAULTS and the resolved behaviour', () => {
  it('are the same names (checked by tsc above)', () => {
    expect(SAME_KEYS).toBe(true);
    expect(MISSPELLED).toBeDefined();
  });

  it('resolves no options to exactly the defaults, plus what only the adapter sets', () => {
    const resolved = resolveAdapterOptions({});
    expect(resolved).toEqual({ ...DEFAULTS.behaviour, messageParser: undefined, decodeMessage: undefined, routeMessage: undefined });
    expect(resolved.codec).toBe(DEFAULTS.behaviour.codec);
    expect(resolved.codec).toBeInstanceOf(JsonCodec);
    expect(DEFAULT_MAX_PAYLOAD).toBe(DEFAULTS.behaviour.maxPayload);
  });

  it('pins the defaults the README promises', () => {
    expect(DEFAULTS.behaviour).toMatchObject({
      invalidMessage: 'ignore',
      unknownEvent: 'ignore',
      maxDepth: 64,
      ordered: false,
      maxPayload: 1048576,
      closeTimeout: 1000,
      drainTimeout: 5000,
      shutdownCloseCode: 1001,
      heartbeatInterval: 30000,
      compression: false,
      rateLimit: false,
      maxConnections: 0,
      maxConnectionsPerIp: 0,
      backpressure: { highWaterMark: 1048576, policy: 'skip', closeAt: 8388608 },
      auth: undefined,
    });
    expect(DEFAULTS).toMatchObject({ rateLimitCloseAfter: 100, authTimeout: 10000, requestTimeout: 10000 });
  });

  it('hands every adapter its own copy: changing one resolved behaviour changes neither DEFAULTS nor another adapter', () => {
    const first = resolveAdapterOptions({});
    const second = resolveAdapterOptions({});
    expect(first.backpressure).not.toBe(DEFAULTS.behaviour.backpressure);
    first.backpressure.highWaterMark = 1;
    first.heartbeatInterval = 1;
    expect(DEFAULTS.behaviour.backpressure.highWaterMark).toBe(1024 * 1024);
    expect(DEFAULTS.behaviour.heartbeatInterval).toBe(30000);
    expect(second.backpressure.highWaterMark).toBe(1024 * 1024);
    expect(resolveAdapterOptions({}).heartbeatInterval).toBe(30000);
  });

  it('BEHAVIOUR_OPTION_KEYS is the key list of the literal', () => {
    expect([...BEHAVIOUR_OPTION_KEYS].sort()).toEqual(Object.keys(DEFAULTS.behaviour).sort());
    expect([...BEHAVIOUR_OPTION_KEYS].sort()).toEqual(Object.keys(SAMPLE).sort());
  });

  it.each(Object.keys(SAMPLE) as Array<keyof SwitchboardGatewayBehaviour>)('applies %s, on the adapter and per gateway (no option key is silently dropped)', (key) => {
    const options = { [key]: SAMPLE[key] } as SwitchboardAdapterOptions;
    const adapter = resolveAdapterOptions(options);
    expect(adapter[key]).toEqual(SAMPLE_RESOLVED[key]);
    const { behaviour, wsOptions } = splitGatewayOptions(resolveAdapterOptions({}), options as GatewayInput);
    expect(behaviour[key]).toEqual(SAMPLE_RESOLVED[key]);
    expect(Object.keys(wsOptions)).not.toContain(key); // ours, not ws's
  });

  it('fills compression and rate limit defaults when they are turned on', () => {
    expect(resolveAdapterOptions({ compression: {} }).compression).toEqual({
      threshold: 1024,
      level: 1,
      memLevel: 8,
      windowBits: 15,
      serverContextTakeover: false,
      clientContextTakeover: false,
      concurrencyLimit: 10,
    });
    expect(resolveAdapterOptions({ rateLimit: { messagesPerSecond: 2.5 } }).rateLimit).toEqual({ messagesPerSecond: 2.5, burst: 2.5, closeAfter: 100 });
    expect(resolveAdapterOptions({ rateLimit: { messagesPerSecond: 10, burst: 3, closeAfter: 2 } }).rateLimit).toEqual({ messagesPerSecond: 10, burst: 3, closeAfter: 2 });
    expect(resolveAdapterOptions({ backpressure: { highWaterMark: 10 } }).backpressure).toEqual({ highWaterMark: 10, policy: 'skip', closeAt: 8 * 1024 * 1024 });
  });

  it('takes a messageParser on the adapter only', () => {
    const messageParser = (): undefined => undefined;
    expect(resolveAdapterOptions({ messageParser }).messageParser).toBe(messageParser);
    expect(BEHAVIOUR_OPTION_KEYS.has('messageParser')).toBe(false);
  });
});

describe('validation', () => {
  const bad: Array<[string, SwitchboardGatewayBehaviour]> = [
    ['codec', { codec: {} as Codec }],
    ['codec', { codec: null as unknown as Codec }],
    ['codec', { codec: { ...codec, binary: 'yes' } as unknown as Codec }],
    ['invalidMessage', { invalidMessage: 'drop' as 'ignore' }],
    ['unknownEvent', { unknownEvent: 'close' as 'ignore' }],
    ['maxDepth', { maxDepth: 0 }],
    ['maxDepth', { maxDepth: 1.5 }],
    ['ordered', { ordered: 'yes' as unknown as boolean }],
    ['maxPayload', { maxPayload: 0 }],
    ['maxPayload', { maxPayload: 1.5 }],
    ['closeTimeout', { closeTimeout: -1 }],
    ['closeTimeout', { closeTimeout: Number.NaN }],
    ['drainTimeout', { drainTimeout: Number.POSITIVE_INFINITY }],
    ['shutdownCloseCode', { shutdownCloseCode: 1000 as 1001 }],
    ['heartbeatInterval', { heartbeatInterval: -1 }],
    ['heartbeatInterval', { heartbeatInterval: '30000' as unknown as number }],
    ['compression.threshold', { compression: { threshold: -1 } }],
    ['compression.level', { compression: { level: 10 } }],
    ['compression.memLevel', { compression: { memLevel: 0 } }],
    ['compression.windowBits', { compression: { windowBits: 7 } }],
    ['compression.windowBits', { compression: { windowBits: 16 } }],
    ['compression.concurrencyLimit', { compression: { concurrencyLimit: 0 } }],
    ['rateLimit.messagesPerSecond', { rateLimit: { messagesPerSecond: 0 } }],
    ['rateLimit.messagesPerSecond', { rateLimit: {} as { messagesPerSecond: number } }],
    ['rateLimit', { rateLimit: null as unknown as false }],
    ['rateLimit.burst', { rateLimit: { messagesPerSecond: 5, burst: 0.5 } }],
    ['rateLimit.closeAfter', { rateLimit: { messagesPerSecond: 5, closeAfter: 0 } }],
    ['rateLimit.closeAfter', { rateLimit: { messagesPerSecond: 5, closeAfter: 1.5 } }],
    ['maxConnections', { maxConnections: -1 }],
    ['maxConnections', { maxConnections: 1.5 }],
    ['maxConnectionsPerIp', { maxConnectionsPerIp: -1 }],
    ['backpressure.highWaterMark', { backpressure: { highWaterMark: 0 } }],
    ['backpressure.closeAt', { backpressure: { highWaterMark: 100, closeAt: 99 } }],
    ['backpressure.closeAt', { backpressure: { closeAt: 1024 } }], // below the default high-water mark
    ['backpressure.policy', { backpressure: { policy: 'drop' as 'skip' } }],
    ['auth.guards', { auth: { guards: 'AuthGuard' as never } }],
    ['auth.authenticate', { auth: { authenticate: 5 as never } }],
    ['auth.origins', { auth: { origins: 'https://example.org' as never } }],
    ['auth.timeout', { auth: { timeout: 0 } }],
  ];

  const expectInvalid = (call: () => unknown, where: 'adapter' | 'gateway', key: string): void => {
    const thrown = thrownBy(call);
    expect(thrown).toBeInstanceOf(SwitchboardError);
    expect((thrown as SwitchboardError).code).toBe(ErrorCode.INVALID_OPTION);
    expect((thrown as SwitchboardError).message).toContain(`The ${where} option "${key}" must be`);
  };

  it.each(bad)('an invalid %s is refused on the adapter, naming it', (key, options) => {
    expectInvalid(() => resolveAdapterOptions(options), 'adapter', key);
  });

  it.each(bad)('an invalid %s is refused per gateway, naming it', (key, options) => {
    expectInvalid(() => splitGatewayOptions(resolveAdapterOptions({}), options as GatewayInput), 'gateway', key);
  });

  it('an invalid messageParser is refused on the adapter, naming it', () => {
    expectInvalid(() => resolveAdapterOptions({ messageParser: 'json' as never }), 'adapter', 'messageParser');
  });

  it('an option left undefined keeps the default (it is not "invalid")', () => {
    const resolved = resolveAdapterOptions({ heartbeatInterval: undefined, backpressure: undefined, compression: undefined });
    expect(resolved.heartbeatInterval).toBe(30000);
    expect(resolved.compression).toBe(false);
  });

  // Node turns a timer over 2^31-1 ms into 1 ms (TimeoutOverflowWarning): a heartbeat of 2^31 ms would ping,
  // and judge, every millisecond. Validation accepts any finite duration today.
  it.each(['heartbeatInterval', 'closeTimeout', 'drainTimeout'])('%s of 2^31 ms (past setTimeout range) is refused', (key) => {
    expectInvalid(() => resolveAdapterOptions({ [key]: 2 ** 31 }), 'adapter', key);
  });

  it('auth: null is refused as INVALID_OPTION naming "auth"', () => {
    expectInvalid(() => resolveAdapterOptions({ auth: null as never }), 'adapter', 'auth');
  });

  it('compression: null is refused', () => {
    expectInvalid(() => resolveAdapterOptions({ compression: null as never }), 'adapter', 'compression');
  });
});

describe('splitGatewayOptions', () => {
  let adapter: ResolvedGatewayBehaviour;

  beforeEach(() => {
    adapter = resolveAdapterOptions({ heartbeatInterval: 5000, backpressure: { highWaterMark: 10 }, invalidMessage: 'reply' });
  });

  it('a gateway override changes that gateway only: not the adapter behaviour, not the next gateway', () => {
    const snapshot = structuredClone({ ...adapter, codec: undefined });
    const first = splitGatewayOptions(adapter, { heartbeatInterval: 1000, backpressure: { policy: 'close' }, compression: {} });
    expect(first.behaviour).not.toBe(adapter);
    expect(first.behaviour).toMatchObject({ heartbeatInterval: 1000, invalidMessage: 'reply', backpressure: { highWaterMark: 10, policy: 'close' } });
    expect(first.behaviour.compression).not.toBe(false);
    expect({ ...adapter, codec: undefined }).toEqual(snapshot);
    const second = splitGatewayOptions(adapter, {});
    expect(second.behaviour).toMatchObject({ heartbeatInterval: 5000, invalidMessage: 'reply', compression: false, backpressure: { highWaterMark: 10, policy: 'skip' } });
    expect(second.behaviour).not.toBe(first.behaviour);
  });

  it('hands every key that is not ours to ws, untouched, and keeps ours out', () => {
    const verifyClient = (): boolean => true;
    const { behaviour, wsOptions } = splitGatewayOptions(adapter, { clientTracking: false, verifyClient, skipUTF8Validation: true, maxDepth: 3, ordered: true });
    expect(wsOptions).toEqual({ clientTracking: false, verifyClient, skipUTF8Validation: true, perMessageDeflate: false });
    expect(wsOptions.verifyClient).toBe(verifyClient);
    expect(behaviour).toMatchObject({ maxDepth: 3, ordered: true });
  });

  it('drops ws keys that are undefined', () => {
    const { wsOptions } = splitGatewayOptions(adapter, { host: undefined, backlog: 5 });
    expect(wsOptions).toEqual({ backlog: 5, perMessageDeflate: false });
    expect('host' in wsOptions).toBe(false);
  });

  describe('compression to perMessageDeflate', () => {
    it('off: perMessageDeflate false', () => {
      expect(splitGatewayOptions(adapter, {}).wsOptions.perMessageDeflate).toBe(false);
    });

    it('on: every field in ws vocabulary (context takeover inverted, one window for both directions)', () => {
      const { wsOptions } = splitGatewayOptions(adapter, {
        compression: { threshold: 64, level: 6, memLevel: 4, windowBits: 10, serverContextTakeover: true, concurrencyLimit: 3 },
      });
      expect(wsOptions.perMessageDeflate).toEqual({
        threshold: 64,
        concurrencyLimit: 3,
        serverNoContextTakeover: false,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 10,
        zlibDeflateOptions: { level: 6, memLevel: 4 },
      });
    });

    it('on with the defaults', () => {
      expect(splitGatewayOptions(adapter, { compression: {} }).wsOptions.perMessageDeflate).toEqual({
        threshold: 1024,
        concurrencyLimit: 10,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
        zlibDeflateOptions: { level: 1, memLevel: 8 },
      });
    });

    it('follows the adapter compression when the gateway says nothing, and a gateway can turn it off', () => {
      const compressing = resolveAdapterOptions({ compression: { level: 2 } });
      expect(splitGatewayOptions(compressing, {}).wsOptions.perMessageDeflate).toMatchObject({ zlibDeflateOptions: { level: 2, memLevel: 8 } });
      const off = splitGatewayOptions(compressing, { compression: false });
      expect(off.wsOptions.perMessageDeflate).toBe(false);
      expect(off.behaviour.compression).toBe(false);
      expect(compressing.compression).not.toBe(false);
    });

    it("a gateway's own perMessageDeflate wins over compression", () => {
      const perMessageDeflate = { threshold: 0 };
      const { wsOptions } = splitGatewayOptions(adapter, { compression: { level: 9 }, perMessageDeflate });
      expect(wsOptions.perMessageDeflate).toBe(perMessageDeflate);
    });
  });

  describe('an unknown gateway key', () => {
    let warnings: unknown[][];

    beforeEach(() => {
      warnings = [];
      // What an application's own logger would see: Nest routes the module's Logger instance to it.
      const logger: LoggerService = {
        log: () => undefined,
        error: () => undefined,
        warn: (...args: unknown[]) => {
          warnings.push(args);
        },
      };
      Logger.overrideLogger(logger);
    });

    afterEach(() => {
      Logger.overrideLogger(new ConsoleLogger());
    });

    it('is warned about once per process, by name, and handed to ws', () => {
      const first = splitGatewayOptions(adapter, { heartbeatIntervall: 1000 } as GatewayInput);
      expect(warnings).toHaveLength(1);
      expect(warnings[0][0]).toEqual(expect.stringContaining('Unknown gateway option "heartbeatIntervall"'));
      expect(warnings[0][1]).toBe('SwitchboardAdapter'); // the logger context
      expect((first.wsOptions as Record<string, unknown>).heartbeatIntervall).toBe(1000);
      expect(first.behaviour.heartbeatInterval).toBe(5000); // the typo changed nothing of ours
      // Another gateway with the same typo: no second warning.
      splitGatewayOptions(adapter, { heartbeatIntervall: 2000 } as GatewayInput);
      expect(warnings).toHaveLength(1);
      // A different unknown key is its own warning.
      splitGatewayOptions(adapter, { drainTimout: 1 } as GatewayInput);
      expect(warnings).toHaveLength(2);
      expect(warnings[1][0]).toEqual(expect.stringContaining('"drainTimout"'));
    });

    it("is not warned about when it is one of ws's or Nest's gateway metadata keys", () => {
      splitGatewayOptions(adapter, { clientTracking: true, perMessageDeflate: false, handleProtocols: () => false, autoPong: true, allowSynchronousEvents: true } as GatewayInput);
      splitGatewayOptions(adapter, { cors: { origin: '*' }, transports: ['websocket'], pingInterval: 1 } as GatewayInput);
      expect(warnings).toEqual([]);
    });
  });
});

describe('the README Options table', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Options'), readme.indexOf('\n## ', readme.indexOf('## Options') + 1));
  const rows = new Map(
    section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => {
        const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
        return [cells[1].replace(/`/g, ''), cells] as const;
      }),
  );

  it('lists exactly the behaviour options and messageParser', () => {
    expect([...rows.keys()].sort()).toEqual([...BEHAVIOUR_OPTION_KEYS, 'messageParser'].sort());
  });

  it.each(Object.entries(DEFAULTS.behaviour).filter(([, value]) => typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean'))(
    'prints the default of %s as DEFAULTS has it',
    (key, value) => {
      const printed = typeof value === 'string' ? `\`'${value}'\`` : `\`${String(value)}\``;
      expect(rows.get(key)![3].startsWith(printed)).toBe(true);
    },
  );
});
