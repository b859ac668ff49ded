import type { IncomingHttpHeaders } from 'node:http';
import type { CanActivate, Type } from '@nestjs/common';
import type { RawData, ServerOptions } from 'ws';
import type { Codec } from './codec.interface.js';
import type { Handshake } from './handshake.interface.js';

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
   * gone within two intervals. One timer per gateway, not per socket.
   * `0` disables the heartbeat.
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

/** Where the handshake looks for a token (`handshake.token`), in this order. */
export interface TokenSources {
  /**
   * A header; a `Bearer ` prefix is removed.
   * @default 'authorization'
   */
  header?: string | false;
  /**
   * A marker in `Sec-WebSocket-Protocol`, the only header a browser can
   * set: `new WebSocket(url, ['access_token', token])` with `protocol:
   * 'access_token'`. The server answers with the marker as subprotocol.
   */
  protocol?: string;
  /** A cookie name. */
  cookie?: string;
  /** A query-string parameter (tokens in URLs end up in logs: prefer the others). */
  query?: string;
}

/** Runs on the HTTP upgrade request; a refusal is an HTTP status with a JSON body. */
export interface HandshakeAuthOptions {
  /**
   * Allowed `Origin` header values (exact strings or patterns), or a
   * predicate. A request with another origin gets 403. Requests without
   * `Origin` (non-browser clients) pass unless `requireOrigin` is set.
   */
  origins?: ReadonlyArray<string | RegExp> | ((origin: string | undefined) => boolean);
  requireOrigin?: boolean;
  /** Where to find the token. */
  token?: TokenSources;
  /**
   * Nest guards, run on the upgrade request with a `ws` execution context
   * whose client is a {@link HandshakeClient}: classes are resolved through
   * DI (they may inject services), instances are used as given. `false`
   * gives 403; a thrown `UnauthorizedException` 401, `ForbiddenException`
   * 403, and so on.
   */
  guards?: ReadonlyArray<Type<CanActivate> | CanActivate>;
  /**
   * A function, or an injectable class implementing
   * {@link HandshakeAuthenticator}, that returns the principal. Its result
   * becomes `client.data`; `null`, `undefined` or `false` gives 401.
   */
  authenticate?: ((client: HandshakeClient) => unknown) | Type<HandshakeAuthenticator>;
  /**
   * Milliseconds the guards and `authenticate` may take; then 503.
   * @default 10000
   */
  timeout?: number;
}

/** An injectable authenticator class. */
export interface HandshakeAuthenticator {
  authenticate(client: HandshakeClient): unknown;
}

/**
 * What guards and authenticators see as the client during the handshake:
 * the request's facts, the token found, and a `data` object that becomes the
 * socket's `client.data`.
 */
export interface HandshakeClient {
  readonly handshake: Handshake;
  /** All request headers, including the handshake ones. */
  readonly headers: IncomingHttpHeaders;
  readonly cookies: Readonly<Record<string, string>>;
  /** The token from the configured sources, if any. */
  readonly token: string | undefined;
  /** Filled by guards; becomes `client.data` (unless `authenticate` returns a principal). */
  data: Record<string, unknown>;
}

/** Options of `new SwitchboardAdapter(app, options)`. */
export interface SwitchboardAdapterOptions extends SwitchboardGatewayBehaviour {
  /** Drop-in for `WsAdapter`'s option of the same name. */
  messageParser?: MessageParser;
  /**
   * Bind the ports of gateways that have their own port. The test harness
   * turns it off and connects to those servers in memory.
   * @default true
   */
  listen?: boolean;
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
export interface ResolvedGatewayBehaviour {
  codec: Codec;
  invalidMessage: InvalidMessagePolicy;
  unknownEvent: UnknownEventPolicy;
  maxPayload: number;
  closeTimeout: number;
  drainTimeout: number;
  shutdownCloseCode: 1001 | 1012;
  heartbeatInterval: number;
  compression: false | Required<CompressionOptions>;
  rateLimit: false | Required<RateLimitOptions>;
  maxConnections: number;
  maxConnectionsPerIp: number;
  backpressure: Required<BackpressureOptions>;
  auth: HandshakeAuthOptions | undefined;
  messageParser: MessageParser | undefined;
}

/** Keys that belong to this adapter and are not handed to `ws`. */
export const BEHAVIOUR_OPTION_KEYS = [
  'codec',
  'invalidMessage',
  'unknownEvent',
  'maxPayload',
  'closeTimeout',
  'drainTimeout',
  'shutdownCloseCode',
  'heartbeatInterval',
  'compression',
  'rateLimit',
  'maxConnections',
  'maxConnectionsPerIp',
  'backpressure',
  'auth',
] as const;
