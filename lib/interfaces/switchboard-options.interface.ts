import type { RawData, ServerOptions } from 'ws';
import type { Codec } from './codec.interface.js';

/**
 * What the adapter does with a frame it cannot dispatch because it is
 * unreadable (`DECODE_FAILED`), not a protocol v1 message (`INVALID_MESSAGE`),
 * or of the wrong kind (`UNSUPPORTED_DATA`).
 *
 * - `reply`: answer with an error ack when the message carried a readable
 *   `id`, otherwise with an `exception` event. The connection stays open.
 * - `ignore`: drop the frame (a readable `id` still gets its error ack: an id
 *   is a promise of exactly one answer). Counted in the stats.
 * - `close`: close the connection with 1007 (invalid payload) or 1003
 *   (unsupported data).
 */
export type InvalidMessagePolicy = 'reply' | 'ignore' | 'close';

/**
 * What the adapter does with a well-formed message whose event has no
 * handler and that carries no `id` (with an `id` it always gets an
 * `UNKNOWN_EVENT` error ack). `reply` sends an `exception` event; `ignore`
 * drops it as `@nestjs/platform-ws` does.
 */
export type UnknownEventPolicy = 'reply' | 'ignore';

/**
 * A parser in the shape of `@nestjs/platform-ws`'s `messageParser`: returns
 * `{ event, data }` (an `id` is honoured too), or nothing to drop the frame.
 * When set, it replaces the codec for inbound frames; replies still go
 * through the codec.
 */
export type MessageParser = (data: RawData) => { event: string; data?: unknown; id?: unknown } | null | undefined | void;

/** Options that can be set on the adapter and overridden per gateway. */
export interface SwitchboardGatewayBehaviour {
  /**
   * Frame codec for both directions.
   * @default new JsonCodec()
   */
  codec?: Codec;
  /**
   * Answer to unreadable or malformed frames. Cost: one small frame per bad message.
   * @default 'reply'
   */
  invalidMessage?: InvalidMessagePolicy;
  /**
   * Answer to messages without an `id` whose event has no handler.
   * @default 'reply'
   */
  unknownEvent?: UnknownEventPolicy;
  /**
   * Largest accepted frame, in bytes; a larger frame closes the connection with 1009.
   * `ws` defaults to 100 MiB; this adapter to 1 MiB.
   * @default 1048576
   */
  maxPayload?: number;
  /**
   * Milliseconds `close()` waits for clients to answer the close handshake
   * (1001) before it terminates their sockets.
   * @default 1000
   */
  closeTimeout?: number;
}

/** Options of `new SwitchboardAdapter(app, options)`. */
export interface SwitchboardAdapterOptions extends SwitchboardGatewayBehaviour {
  /** Drop-in for `WsAdapter`'s option of the same name. */
  messageParser?: MessageParser;
}

/**
 * What `@WebSocketGateway(port, options)` accepts with this adapter: the
 * gateway `path` (static, or a pattern such as `/rooms/:room`), every `ws`
 * server option (`perMessageDeflate`, `verifyClient`, `handleProtocols`, ...),
 * and per-gateway overrides of the adapter's behaviour options.
 */
export interface SwitchboardGatewayOptions
  extends SwitchboardGatewayBehaviour,
    Omit<ServerOptions, 'port' | 'server' | 'noServer' | 'path' | 'WebSocket' | 'maxPayload'> {
  path?: string;
  /** A ready-made server, returned as is (as `WsAdapter` does). */
  server?: unknown;
  /** Not supported (socket.io only); rejected with a clear error. */
  namespace?: unknown;
  [option: string]: unknown;
}

/** The behaviour options with every default applied. */
export type ResolvedGatewayBehaviour = Required<SwitchboardGatewayBehaviour> & {
  messageParser: MessageParser | undefined;
};

/** Keys that belong to this adapter and are not handed to `ws`. */
export const BEHAVIOUR_OPTION_KEYS = ['codec', 'invalidMessage', 'unknownEvent', 'maxPayload', 'closeTimeout'] as const;
