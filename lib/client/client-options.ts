import type { WebSocketConstructor } from './web-socket.js';

/** What `auth` is told: `refresh` is true right after the server refused the last token (401 or 4401). */
export interface AuthContext {
  readonly refresh: boolean;
}

/** Full-jitter exponential backoff: retry n waits a uniformly random time in [0, min(maxDelay, delay · 2^n)). */
export interface ReconnectOptions {
  /**
   * The first retry's window, ms: it waits uniformly in [0, delay). Wide on
   * purpose: 1,000 clients dropped at once spread over 4 s, at most about 4 %
   * of them in any 100 ms.
   * @default 4000
   */
  delay?: number;
  /** The widest window, ms. @default 30000 */
  maxDelay?: number;
  /** Failed attempts in a row before giving up (state `closed`, `DISCONNECTED`). @default Infinity */
  maxAttempts?: number;
}

export interface SwitchboardClientOptions<Client = unknown> {
  /** `ws://` or `wss://` URL, or a function giving one for each attempt (so a reconnect can go to another node). */
  url: string | (() => string | Promise<string>);
  /** The WebSocket class. @default globalThis.WebSocket, else the `ws` package (Node 20) */
  WebSocket?: WebSocketConstructor;
  /** Subprotocols to offer (after the token's, with `tokenIn: 'protocol'`). */
  protocols?: string[];
  /** Gives the token for each (re)connect; `null`/`undefined` connects without one. */
  auth?: (context: AuthContext) => string | null | undefined | Promise<string | null | undefined>;
  /**
   * Where the token goes: a query parameter, or the subprotocol pair
   * `[tokenName, token]` (the server's `auth.token.query` / `auth.token.protocol`).
   * @default 'query'
   */
  tokenIn?: 'query' | 'protocol';
  /** The query parameter, or the subprotocol marker. @default 'access_token' */
  tokenName?: string;
  /** Connect in the constructor; otherwise call `connect()` (messages sent before are queued). @default true */
  autoConnect?: boolean;
  /** `false`: never reconnect. @default true (the defaults of {@link ReconnectOptions}) */
  reconnect?: boolean | ReconnectOptions;
  /** An attempt that has not opened after this many ms is abandoned. @default 10000 */
  connectTimeout?: number;
  /** Default `timeout` of `request()`, ms. @default 10000 */
  requestTimeout?: number;
  /** Send `$ping` after this many ms without any frame from the server; 0 turns liveness off. @default 20000 */
  pingInterval?: number;
  /** Reconnect when nothing at all arrives this many ms after a `$ping`. @default 10000 */
  pongTimeout?: number;
  /** Messages kept while not connected (emits and requests). @default 100 */
  maxQueued?: number;
  /** An emit queued longer than this many ms is dropped, not sent (requests use their own `timeout`). @default 30000 */
  queueTtl?: number;
  /** Which message a full queue drops: the oldest queued one, or the new one. @default 'oldest' */
  dropPolicy?: 'oldest' | 'newest';
  /**
   * Called for each room the client was in when a reconnect could not
   * restore them (no session, session expired, server without recovery), so
   * the app can send its own join message again.
   */
  rejoin?: (room: string, client: Client) => unknown;
}

type Defaulted = 'tokenIn' | 'tokenName' | 'connectTimeout' | 'requestTimeout' | 'pingInterval' | 'pongTimeout' | 'maxQueued' | 'queueTtl' | 'dropPolicy';

/** The options with every default filled in. */
export type ResolvedOptions<Client> = SwitchboardClientOptions<Client> & Required<Pick<SwitchboardClientOptions, Defaulted>>;

export const DEFAULTS: Required<Pick<SwitchboardClientOptions, Defaulted>> = {
  tokenIn: 'query',
  tokenName: 'access_token',
  connectTimeout: 10_000,
  requestTimeout: 10_000,
  pingInterval: 20_000,
  pongTimeout: 10_000,
  maxQueued: 100,
  queueTtl: 30_000,
  dropPolicy: 'oldest',
};

export const RECONNECT_DEFAULTS: Required<ReconnectOptions> = { delay: 4_000, maxDelay: 30_000, maxAttempts: Infinity };
