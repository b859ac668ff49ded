import type { ServerOptions } from 'ws';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_MAX_PAYLOAD } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import {
  BEHAVIOUR_OPTION_KEYS,
  type ResolvedGatewayBehaviour,
  type SwitchboardAdapterOptions,
  type SwitchboardGatewayBehaviour,
  type SwitchboardGatewayOptions,
} from '../interfaces/switchboard-options.interface.js';
import { JsonCodec } from '../protocol/json.codec.js';

/** The defaults, in one place; the README's options table mirrors it. */
export function defaultBehaviour(): ResolvedGatewayBehaviour {
  return {
    codec: new JsonCodec(),
    invalidMessage: 'reply',
    unknownEvent: 'reply',
    maxPayload: DEFAULT_MAX_PAYLOAD,
    closeTimeout: DEFAULT_CLOSE_TIMEOUT_MS,
    messageParser: undefined,
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
 * `WsAdapter` passes them.
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
  return { behaviour, wsOptions: wsOptions as ServerOptions };
}

function applyBehaviour(
  target: ResolvedGatewayBehaviour,
  options: SwitchboardGatewayBehaviour,
  where: 'adapter' | 'gateway',
): ResolvedGatewayBehaviour {
  const { codec, invalidMessage, unknownEvent, maxPayload, closeTimeout } = options;
  if (codec !== undefined) {
    if (typeof codec?.decode !== 'function' || typeof codec.encode !== 'function' || typeof codec.binary !== 'boolean') {
      throw invalid(where, 'codec', 'an object with decode(), encode() and a boolean `binary`');
    }
    target.codec = codec;
  }
  if (invalidMessage !== undefined) {
    if (!['reply', 'ignore', 'close'].includes(invalidMessage)) {
      throw invalid(where, 'invalidMessage', "'reply', 'ignore' or 'close'");
    }
    target.invalidMessage = invalidMessage;
  }
  if (unknownEvent !== undefined) {
    if (!['reply', 'ignore'].includes(unknownEvent)) {
      throw invalid(where, 'unknownEvent', "'reply' or 'ignore'");
    }
    target.unknownEvent = unknownEvent;
  }
  if (maxPayload !== undefined) {
    if (!Number.isSafeInteger(maxPayload) || maxPayload <= 0) {
      throw invalid(where, 'maxPayload', 'a positive integer (bytes)');
    }
    target.maxPayload = maxPayload;
  }
  if (closeTimeout !== undefined) {
    if (!Number.isFinite(closeTimeout) || closeTimeout < 0) {
      throw invalid(where, 'closeTimeout', 'a number of milliseconds >= 0');
    }
    target.closeTimeout = closeTimeout;
  }
  return target;
}

function invalid(where: string, key: string, expected: string): SwitchboardError {
  return new SwitchboardError(ErrorCode.INVALID_OPTION, `The ${where} option "${key}" must be ${expected}.`);
}
