import type { ServerOptions } from 'ws';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_PAYLOAD } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import {
  BEHAVIOUR_OPTION_KEYS,
  type BackpressureOptions,
  type CompressionOptions,
  type RateLimitOptions,
  type ResolvedGatewayBehaviour,
  type SwitchboardAdapterOptions,
  type SwitchboardGatewayBehaviour,
  type SwitchboardGatewayOptions,
} from '../interfaces/switchboard-options.interface.js';
import { JsonCodec } from '../protocol/json.codec.js';

const COMPRESSION_DEFAULTS: Required<CompressionOptions> = {
  threshold: 1024,
  level: 1,
  memLevel: 8,
  windowBits: 15,
  serverContextTakeover: false,
  clientContextTakeover: false,
  concurrencyLimit: 10,
};

const BACKPRESSURE_DEFAULTS: Required<BackpressureOptions> = {
  highWaterMark: 1024 * 1024,
  policy: 'skip',
  closeAt: 8 * 1024 * 1024,
};

/** The defaults, in one place; the README's options table mirrors it. */
export function defaultBehaviour(): ResolvedGatewayBehaviour {
  return {
    codec: new JsonCodec(),
    invalidMessage: 'ignore',
    unknownEvent: 'ignore',
    maxDepth: DEFAULT_MAX_DEPTH,
    ordered: false,
    maxPayload: DEFAULT_MAX_PAYLOAD,
    closeTimeout: DEFAULT_CLOSE_TIMEOUT_MS,
    drainTimeout: 5000,
    shutdownCloseCode: 1001,
    heartbeatInterval: 30_000,
    compression: false,
    rateLimit: false,
    maxConnections: 0,
    maxConnectionsPerIp: 0,
    backpressure: { ...BACKPRESSURE_DEFAULTS },
    auth: undefined,
    messageParser: undefined,
    decodeMessage: undefined,
    routeMessage: undefined,
  };
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
    if ((BEHAVIOUR_OPTION_KEYS as readonly string[]).includes(key)) {
      overrides[key] = value;
    } else if (value !== undefined) {
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
export function toPerMessageDeflate(compression: false | Required<CompressionOptions>): ServerOptions['perMessageDeflate'] {
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
    const merged = { ...target.backpressure, ...options.backpressure };
    check('backpressure.highWaterMark', isPositiveInteger(merged.highWaterMark), 'a positive integer (bytes)');
    check('backpressure.closeAt', isPositiveInteger(merged.closeAt) && merged.closeAt >= merged.highWaterMark, 'a positive integer >= highWaterMark (bytes)');
    check('backpressure.policy', merged.policy === 'skip' || merged.policy === 'close', "'skip' or 'close'");
    target.backpressure = merged;
  }
  if (options.auth !== undefined) {
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
  const merged = { ...COMPRESSION_DEFAULTS, ...compression };
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
  check('rateLimit.messagesPerSecond', typeof rateLimit?.messagesPerSecond === 'number' && rateLimit.messagesPerSecond > 0, 'a positive number');
  const merged = { burst: rateLimit.messagesPerSecond, closeAfter: 100, ...rateLimit };
  check('rateLimit.burst', typeof merged.burst === 'number' && merged.burst >= 1, 'a number >= 1');
  check('rateLimit.closeAfter', Number.isSafeInteger(merged.closeAfter) && merged.closeAfter >= 1, 'an integer >= 1');
  return merged;
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function invalid(where: string, key: string, expected: string): SwitchboardError {
  return new SwitchboardError(ErrorCode.INVALID_OPTION, `The ${where} option "${key}" must be ${expected}.`);
}
