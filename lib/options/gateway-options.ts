import { Logger } from '@nestjs/common';
import type { ServerOptions } from 'ws';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { SwitchboardAdapterOptions, SwitchboardGatewayOptions } from '../interfaces/adapter-options.interface.js';
import type { Codec } from '../interfaces/codec.interface.js';
import type {
  BackpressureOptions,
  CompressionOptions,
  InvalidMessagePolicy,
  MessageDecoder,
  MessageParser,
  MessageRouter,
  RateLimitOptions,
  SwitchboardGatewayBehaviour,
  UnknownEventPolicy,
} from '../interfaces/gateway-behaviour.interface.js';
import type { HandshakeAuthOptions } from '../interfaces/handshake-auth.interface.js';
import { JsonCodec } from '../protocol/json.codec.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * Every default, in one literal. The resolved behaviour's type, the list of
 * option keys this adapter owns, and the README's options table all follow
 * from it; nothing else in the library holds a default of its own.
 */
export const DEFAULTS = {
  /** Behaviour options, settable on the adapter and per gateway (see SwitchboardGatewayBehaviour). */
  behaviour: {
    // JsonCodec is stateless: one instance serves every gateway.
    codec: new JsonCodec() as Codec,
    invalidMessage: 'ignore' as InvalidMessagePolicy,
    unknownEvent: 'ignore' as UnknownEventPolicy,
    /** Levels of nesting: deeper input would overflow the stack when a reply is encoded or a pipe transforms it. */
    maxDepth: 64,
    ordered: false,
    /** 1 MiB: `ws` defaults to 100 MiB, which lets one client make the server buffer 100 MiB per frame. */
    maxPayload: 1024 * 1024,
    closeTimeout: 1000,
    drainTimeout: 5000,
    shutdownCloseCode: 1001 as 1001 | 1012,
    heartbeatInterval: 30_000,
    compression: false as false | Required<CompressionOptions>,
    rateLimit: false as false | Required<RateLimitOptions>,
    maxConnections: 0,
    maxConnectionsPerIp: 0,
    backpressure: { highWaterMark: 1024 * 1024, policy: 'skip', closeAt: 8 * 1024 * 1024 } as Required<BackpressureOptions>,
    auth: undefined as HandshakeAuthOptions | undefined,
  },
  /** Fields of `compression` left out when it is turned on. */
  compression: {
    threshold: 1024,
    level: 1,
    memLevel: 8,
    windowBits: 15,
    serverContextTakeover: false,
    clientContextTakeover: false,
    concurrencyLimit: 10,
  } satisfies Required<CompressionOptions>,
  /** `rateLimit.closeAfter`; `burst` defaults to `messagesPerSecond`. */
  rateLimitCloseAfter: 100,
  /** Milliseconds handshake guards and `authenticate` may take (`auth.timeout`). */
  authTimeout: 10_000,
  /** Milliseconds a server-to-client `client.request()` waits for the ack. */
  requestTimeout: 10_000,
};

/** The largest frame accepted by default, in bytes. */
export const DEFAULT_MAX_PAYLOAD = DEFAULTS.behaviour.maxPayload;

type BehaviourDefaults = typeof DEFAULTS.behaviour;

/** The behaviour options with every default applied, plus what only the adapter sets. */
export type ResolvedGatewayBehaviour = BehaviourDefaults & {
  /** platform-ws's inbound parser (adapter option only). */
  messageParser: MessageParser | undefined;
  /** A subclass's `decodeMessage`, when it overrides it. */
  decodeMessage: MessageDecoder | undefined;
  /** A subclass's `routeMessage`, when it overrides it. */
  routeMessage: MessageRouter | undefined;
};

/** Keys of gateway options that belong to this adapter and are not handed to `ws`. */
export const BEHAVIOUR_OPTION_KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULTS.behaviour));

/**
 * `ws`'s WebSocketServer options and the keys Nest itself puts into gateway
 * options: a key in neither list nor ours is most likely a typo
 * (`heartbeatIntervall`), warned about once.
 */
const KNOWN_FOREIGN_KEYS: ReadonlySet<string> = new Set([
  // ws ServerOptions
  'host', 'backlog', 'verifyClient', 'handleProtocols', 'clientTracking', 'perMessageDeflate',
  'skipUTF8Validation', 'allowSynchronousEvents', 'autoPong',
  // socket.io-flavoured keys Nest's GatewayMetadata declares; harmless here.
  'transports', 'cors', 'serveClient', 'adapter', 'parser', 'connectTimeout', 'pingTimeout', 'pingInterval',
  'upgradeTimeout', 'maxHttpBufferSize', 'allowRequest', 'allowUpgrades', 'cookie', 'allowEIO3', 'connectionStateRecovery',
]);

const warnedKeys = new Set<string>();

/** A fresh copy of the defaults (objects inside are copied, so a gateway can change its own). */
function defaultBehaviour(): ResolvedGatewayBehaviour {
  return { ...DEFAULTS.behaviour, backpressure: { ...DEFAULTS.behaviour.backpressure }, messageParser: undefined, decodeMessage: undefined, routeMessage: undefined };
}

/** Applies adapter options over the defaults, validating each one. */
export function resolveAdapterOptions(options: SwitchboardAdapterOptions): ResolvedGatewayBehaviour {
  const resolved = applyBehaviour(defaultBehaviour(), options, 'adapter');
  if (options.messageParser !== undefined) {
    if (typeof options.messageParser !== 'function') {
      throw invalid('adapter', 'messageParser', 'a function');
    }
    resolved.messageParser = options.messageParser;
  }
  return resolved;
}

/**
 * Splits the options of one `@WebSocketGateway` into this adapter's
 * behaviour (adapter values overridden per gateway) and the options handed
 * to `ws`. Keys that are neither pass through to `ws` untouched, as
 * `WsAdapter` passes them. Compression becomes `ws`'s `perMessageDeflate`
 * unless the gateway sets `perMessageDeflate` itself.
 */
export function splitGatewayOptions(
  adapterBehaviour: ResolvedGatewayBehaviour,
  options: Omit<SwitchboardGatewayOptions, 'path' | 'server' | 'namespace'>,
): { behaviour: ResolvedGatewayBehaviour; wsOptions: ServerOptions } {
  const wsOptions: Record<string, unknown> = {};
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (BEHAVIOUR_OPTION_KEYS.has(key)) {
      overrides[key] = value;
    } else if (value !== undefined) {
      if (!KNOWN_FOREIGN_KEYS.has(key) && !warnedKeys.has(key)) {
        warnedKeys.add(key);
        logger.warn(`Unknown gateway option "${key}": neither a SwitchboardAdapter option nor a ws server option (a typo?); it is handed to ws, which ignores it.`);
      }
      wsOptions[key] = value;
    }
  }
  const behaviour = applyBehaviour({ ...adapterBehaviour }, overrides as SwitchboardGatewayBehaviour, 'gateway');
  if (wsOptions.perMessageDeflate === undefined) {
    wsOptions.perMessageDeflate = toPerMessageDeflate(behaviour.compression);
  }
  return { behaviour, wsOptions: wsOptions as ServerOptions };
}

/** Our compression options in `ws`'s vocabulary. */
function toPerMessageDeflate(compression: false | Required<CompressionOptions>): ServerOptions['perMessageDeflate'] {
  if (compression === false) {
    return false;
  }
  return {
    threshold: compression.threshold,
    concurrencyLimit: compression.concurrencyLimit,
    serverNoContextTakeover: !compression.serverContextTakeover,
    clientNoContextTakeover: !compression.clientContextTakeover,
    serverMaxWindowBits: compression.windowBits,
    clientMaxWindowBits: compression.windowBits,
    zlibDeflateOptions: { level: compression.level, memLevel: compression.memLevel },
  };
}

function applyBehaviour(target: ResolvedGatewayBehaviour, options: SwitchboardGatewayBehaviour, where: 'adapter' | 'gateway'): ResolvedGatewayBehaviour {
  const check = (key: string, valid: boolean, expected: string): void => {
    if (!valid) {
      throw invalid(where, key, expected);
    }
  };
  const { codec, invalidMessage, unknownEvent, maxPayload, closeTimeout, drainTimeout, shutdownCloseCode, heartbeatInterval } = options;
  if (codec !== undefined) {
    check('codec', typeof codec?.decode === 'function' && typeof codec.encode === 'function' && typeof codec.binary === 'boolean', 'an object with decode(), encode() and a boolean `binary`');
    target.codec = codec;
  }
  if (invalidMessage !== undefined) {
    check('invalidMessage', ['reply', 'ignore', 'close'].includes(invalidMessage), "'reply', 'ignore' or 'close'");
    target.invalidMessage = invalidMessage;
  }
  if (unknownEvent !== undefined) {
    check('unknownEvent', ['reply', 'ignore'].includes(unknownEvent), "'reply' or 'ignore'");
    target.unknownEvent = unknownEvent;
  }
  if (options.maxDepth !== undefined) {
    check('maxDepth', isPositiveInteger(options.maxDepth), 'a positive integer (levels of nesting)');
    target.maxDepth = options.maxDepth;
  }
  if (options.ordered !== undefined) {
    check('ordered', typeof options.ordered === 'boolean', 'a boolean');
    target.ordered = options.ordered;
  }
  if (maxPayload !== undefined) {
    check('maxPayload', isPositiveInteger(maxPayload), 'a positive integer (bytes)');
    target.maxPayload = maxPayload;
  }
  if (closeTimeout !== undefined) {
    check('closeTimeout', isDuration(closeTimeout), 'a number of milliseconds >= 0');
    target.closeTimeout = closeTimeout;
  }
  if (drainTimeout !== undefined) {
    check('drainTimeout', isDuration(drainTimeout), 'a number of milliseconds >= 0');
    target.drainTimeout = drainTimeout;
  }
  if (shutdownCloseCode !== undefined) {
    check('shutdownCloseCode', shutdownCloseCode === 1001 || shutdownCloseCode === 1012, '1001 or 1012');
    target.shutdownCloseCode = shutdownCloseCode;
  }
  if (heartbeatInterval !== undefined) {
    check('heartbeatInterval', isDuration(heartbeatInterval), 'a number of milliseconds >= 0 (0 disables it)');
    target.heartbeatInterval = heartbeatInterval;
  }
  if (options.compression !== undefined) {
    target.compression = resolveCompression(options.compression, check);
  }
  if (options.rateLimit !== undefined) {
    target.rateLimit = resolveRateLimit(options.rateLimit, check);
  }
  if (options.maxConnections !== undefined) {
    check('maxConnections', Number.isSafeInteger(options.maxConnections) && options.maxConnections >= 0, 'an integer >= 0 (0: no cap)');
    target.maxConnections = options.maxConnections;
  }
  if (options.maxConnectionsPerIp !== undefined) {
    check('maxConnectionsPerIp', Number.isSafeInteger(options.maxConnectionsPerIp) && options.maxConnectionsPerIp >= 0, 'an integer >= 0 (0: no cap)');
    target.maxConnectionsPerIp = options.maxConnectionsPerIp;
  }
  if (options.backpressure !== undefined) {
    check('backpressure', isPlainObject(options.backpressure), 'an object');
    const merged = { ...target.backpressure, ...options.backpressure };
    check('backpressure.highWaterMark', isPositiveInteger(merged.highWaterMark), 'a positive integer (bytes)');
    check('backpressure.closeAt', isPositiveInteger(merged.closeAt) && merged.closeAt >= merged.highWaterMark, 'a positive integer >= highWaterMark (bytes)');
    check('backpressure.policy', merged.policy === 'skip' || merged.policy === 'close', "'skip' or 'close'");
    target.backpressure = merged;
  }
  if (options.auth !== undefined) {
    check('auth', isPlainObject(options.auth), 'an object');
    const { guards, authenticate, origins, timeout } = options.auth;
    check('auth.guards', guards === undefined || Array.isArray(guards), 'an array of guard classes or instances');
    check('auth.authenticate', authenticate === undefined || typeof authenticate === 'function', 'a function or an injectable class');
    check('auth.origins', origins === undefined || Array.isArray(origins) || typeof origins === 'function', 'an array of origins or a predicate');
    check('auth.timeout', timeout === undefined || (isDuration(timeout) && timeout > 0), 'a positive number of milliseconds');
    target.auth = options.auth;
  }
  return target;
}

type Check = (key: string, valid: boolean, expected: string) => void;

function resolveCompression(compression: false | CompressionOptions, check: Check): false | Required<CompressionOptions> {
  if (compression === false) {
    return false;
  }
  check('compression', isPlainObject(compression), 'false or an object of compression settings');
  const merged = { ...DEFAULTS.compression, ...compression };
  check('compression.threshold', Number.isSafeInteger(merged.threshold) && merged.threshold >= 0, 'an integer >= 0 (bytes)');
  check('compression.level', Number.isInteger(merged.level) && merged.level >= 0 && merged.level <= 9, 'an integer 0-9');
  check('compression.memLevel', Number.isInteger(merged.memLevel) && merged.memLevel >= 1 && merged.memLevel <= 9, 'an integer 1-9');
  check('compression.windowBits', Number.isInteger(merged.windowBits) && merged.windowBits >= 8 && merged.windowBits <= 15, 'an integer 8-15');
  check('compression.concurrencyLimit', isPositiveInteger(merged.concurrencyLimit), 'a positive integer');
  return merged;
}

function resolveRateLimit(rateLimit: false | RateLimitOptions, check: Check): false | Required<RateLimitOptions> {
  if (rateLimit === false) {
    return false;
  }
  check('rateLimit', isPlainObject(rateLimit), 'false or an object');
  check('rateLimit.messagesPerSecond', typeof rateLimit?.messagesPerSecond === 'number' && rateLimit.messagesPerSecond > 0, 'a positive number');
  const merged = { burst: rateLimit.messagesPerSecond, closeAfter: DEFAULTS.rateLimitCloseAfter, ...rateLimit };
  check('rateLimit.burst', typeof merged.burst === 'number' && merged.burst >= 1, 'a number >= 1');
  check('rateLimit.closeAfter', Number.isSafeInteger(merged.closeAfter) && merged.closeAfter >= 1, 'an integer >= 1');
  return merged;
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

/** Node turns a timer of 2^31 ms or more into 1 ms: a larger "duration" would fire at once, over and over. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(where: string, key: string, expected: string): SwitchboardError {
  return new SwitchboardError(ErrorCode.INVALID_OPTION, `The ${where} option "${key}" must be ${expected}.`);
}
