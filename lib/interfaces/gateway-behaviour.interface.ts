import type { Codec } from './codec.interface.js';
import type { InboundMessage } from './envelope.interface.js';
import type { HandshakeAuthOptions } from './handshake-auth.interface.js';

/**
 * What the adapter does with a frame it cannot dispatch because it is
 * unreadable (`DECODE_FAILED`), not a protocol v1 message (`INVALID_MESSAGE`),
 * or of the wrong kind (`UNSUPPORTED_DATA`).
 *
 * - `ignore` (the default, as `@nestjs/platform-ws`): drop the frame, count it
 *   in the stats (`invalidMessages`) and log it at debug level. A readable
 *   `id` still gets its error ack: an id is a promise of exactly one answer.
 * - `reply`: also answer frames without an id, with an `exception` event
 *   carrying the stable `code`. The connection stays open.
 * - `close`: close the connection with 1007 (invalid payload) or 1003
 *   (unsupported data), after the handlers already running have answered.
 */
export type InvalidMessagePolicy = 'reply' | 'ignore' | 'close';

/**
 * What the adapter does with a well-formed message whose event has no
 * handler and that carries no `id` (with an `id` it always gets an
 * `UNKNOWN_EVENT` error ack). `ignore` (the default) drops it as
 * `@nestjs/platform-ws` does, counted in `unknownEvents`; `reply` sends an
 * `exception` event coded `UNKNOWN_EVENT`.
 */
export type UnknownEventPolicy = 'reply' | 'ignore';

/** A frame as `@nestjs/platform-ws` hands it to a `messageParser`: a string for text frames, a Buffer for binary ones. */
export type WsData = string | Buffer | ArrayBuffer | Buffer[];

/** What a parser or a decoder makes of a frame: a message, or nothing to drop the frame silently. */
export type DecodedFrame = { event: string; data?: unknown; id?: unknown } | null | undefined | void;

/**
 * A parser in the shape of `@nestjs/platform-ws`'s `messageParser`: returns
 * `{ event, data }` (an `id` is honoured too), or nothing to drop the frame.
 * When set, it replaces the codec for inbound frames; replies still go
 * through the codec. Like platform-ws, it receives text frames as strings.
 */
export type MessageParser = (data: WsData) => DecodedFrame;

/** Options that can be set on the adapter and overridden per gateway. */
export interface SwitchboardGatewayBehaviour {
  /**
   * Frame codec for both directions.
   * @default new JsonCodec()
   */
  codec?: Codec;
  /**
   * Answer to unreadable or malformed frames without an `id` (with an id:
   * always an error ack). Cost of `reply`: one small frame per bad message.
   * @default 'ignore'
   */
  invalidMessage?: InvalidMessagePolicy;
  /**
   * Answer to messages without an `id` whose event has no handler.
   * @default 'ignore'
   */
  unknownEvent?: UnknownEventPolicy;
  /**
   * Deepest nesting of arrays and objects a decoded message may have; a
   * deeper one is refused as `INVALID_MESSAGE` before any handler, pipe or
   * encoder sees it (10,000 levels would overflow the stack there). Cost:
   * one walk over the decoded value, only for frames longer than this many
   * bytes (a shorter frame cannot be that deep).
   * @default 64
   */
  maxDepth?: number;
  /**
   * Run one connection's messages one after another: the next message's
   * handler starts when the previous one has settled (its ack sent). Other
   * connections are not held up. Off by default, as in platform-ws, where a
   * slow async pipe lets a later message overtake an earlier one. Cost: a
   * queue per busy connection; past 256 queued messages the connection stops
   * being read (TCP backpressure) until it is drained to half.
   * @default false
   */
  ordered?: boolean;
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
  /**
   * Milliseconds `close()` waits for handlers still running (and their acks)
   * before it sends the close frames. Messages that arrive meanwhile are
   * answered with `SERVER_SHUTTING_DOWN`.
   * @default 5000
   */
  drainTimeout?: number;
  /**
   * Close code sent on shutdown: 1001 (going away) or 1012 (service restart,
   * a hint to reconnect soon).
   * @default 1001
   */
  shutdownCloseCode?: 1001 | 1012;
  /**
   * Milliseconds between heartbeat pings; a client that has not answered (a
   * pong or any message) by the next ping is terminated, so a dead peer is
   * gone within two intervals of normal time. A tick that comes late because
   * the server's event loop was blocked judges nobody (the server had no
   * chance to read the pongs); it is counted in `heartbeatLateTicks`. One
   * timer per gateway, not per socket. `0` disables the heartbeat.
   * @default 30000
   */
  heartbeatInterval?: number;
  /** permessage-deflate; off by default. See {@link CompressionOptions}. */
  compression?: false | CompressionOptions;
  /** A per-connection message rate limit; off by default. See {@link RateLimitOptions}. */
  rateLimit?: false | RateLimitOptions;
  /**
   * Most connections this gateway holds at once (handshakes in progress
   * included); further upgrades get HTTP 503. `0` means no cap.
   * @default 0
   */
  maxConnections?: number;
  /**
   * Most connections from one IP address (the TCP peer address) at once;
   * further upgrades get HTTP 429. `0` means no cap.
   * @default 0
   */
  maxConnectionsPerIp?: number;
  /** What to do with clients that do not read fast enough. See {@link BackpressureOptions}. */
  backpressure?: BackpressureOptions;
  /** Authentication of the upgrade request, before the WebSocket exists. See {@link HandshakeAuthOptions}. */
  auth?: HandshakeAuthOptions;
}

/** permessage-deflate settings, mapped onto `ws`'s `perMessageDeflate`. */
export interface CompressionOptions {
  /**
   * Messages smaller than this many bytes are sent uncompressed.
   * @default 1024
   */
  threshold?: number;
  /**
   * zlib level, 0-9: higher compresses more and costs more CPU.
   * @default 1
   */
  level?: number;
  /**
   * zlib memLevel, 1-9: the compressor's internal state, about 2^(memLevel+9) bytes.
   * @default 8
   */
  memLevel?: number;
  /**
   * LZ77 window, 8-15 bits, for both directions (`server_max_window_bits`,
   * `client_max_window_bits`). The window is the main memory cost: once a
   * connection has compressed or inflated one message, `ws` keeps its zlib
   * streams for the life of the connection, about 2^(windowBits+2) bytes to
   * deflate plus 2^windowBits to inflate, with or without context takeover.
   * Measured (bench/RESULTS.md): about 248 KB RSS per connection with the
   * defaults, about 115 KB with `windowBits: 10, memLevel: 4`.
   * @default 15
   */
  windowBits?: number;
  /**
   * Keep the server's compression context between messages: better ratios
   * for similar messages. It does not change the memory a connection holds
   * (`ws` keeps its zlib streams either way; `windowBits` does).
   * @default false
   */
  serverContextTakeover?: boolean;
  /**
   * Let the client keep its compression context between messages.
   * @default false
   */
  clientContextTakeover?: boolean;
  /**
   * Most zlib operations run at once (process-wide in `ws`).
   * @default 10
   */
  concurrencyLimit?: number;
}

/** A token bucket per connection. */
export interface RateLimitOptions {
  /** Sustained messages per second. */
  messagesPerSecond: number;
  /**
   * Bucket size: messages accepted in a burst.
   * @default messagesPerSecond
   */
  burst?: number;
  /**
   * Messages refused in a row before the connection is closed with 1008. A
   * refused message is answered with `RATE_LIMITED` (error ack, or
   * `exception` event); the count resets when a message gets through.
   * @default 100
   */
  closeAfter?: number;
}

/** Slow consumers: clients whose unsent bytes (`bufferedAmount`) pile up. */
export interface BackpressureOptions {
  /**
   * Bytes buffered for one client above which it counts as slow.
   * @default 1048576
   */
  highWaterMark?: number;
  /**
   * `skip`: broadcasts skip a slow client until it catches up (replies to
   * its own messages are still sent). `close`: a slow client is closed with
   * 1013 at once.
   * @default 'skip'
   */
  policy?: 'skip' | 'close';
  /**
   * Bytes buffered at which a client is closed (1013) whatever the policy, so
   * memory stays bounded even for replies.
   * @default 8388608
   */
  closeAt?: number;
}

/**
 * The extension point for frames, bound to the adapter: `(frame,
 * isBinary, client)` to a message, or nothing to drop it. `client` is the
 * `SwitchboardSocket` (typed as `object` so interfaces import no classes).
 */
export type MessageDecoder = (frame: Buffer, isBinary: boolean, client: object) => DecodedFrame;

/** The extension point for routing, bound to the adapter: the event whose handler runs, or `undefined` for none. */
export type MessageRouter = (message: InboundMessage, client: object) => string | undefined;
