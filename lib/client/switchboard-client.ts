import type {
  EventMap,
  MessageAck,
  MessageData,
  PushData,
  ServerRequestAck,
  ServerRequestData,
  ServerRequestEvent,
  ToClientEvent,
  ToServerEvent,
} from '../interfaces/event-map.interface.js';
import { ClientErrorCode as Code, SwitchboardClientError } from './client-error.js';
import { DEFAULTS, RECONNECT_DEFAULTS, type ReconnectOptions, type ResolvedOptions, type SwitchboardClientOptions } from './client-options.js';
import { loadWebSocket } from './node-web-socket.js';
import { OPEN, type WebSocketConstructor, type WebSocketLike } from './web-socket.js';

/**
 * `connecting`: the first attempt; `open`: connected and recovered, messages go
 * out at once; `reconnecting`: waiting for or making another attempt (messages
 * are queued); `closed`: not started, `close()`d, or given up.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The last stream position the client saw in a room (`offset` of its last message). */
export interface RoomPosition {
  readonly epoch: string;
  readonly offset: number;
}

/** One room's outcome after a reconnect; `recovered: false` means messages may be missing: refetch. */
export interface RoomRecovery extends RoomPosition {
  readonly recovered: boolean;
  /** Messages the server replayed (as push events, before this result). */
  readonly replayed?: number;
}

/** The `$recovery` event, after every reconnect. */
export interface RecoveryResult {
  /** The server resumed the previous session: its rooms were restored and in-flight requests re-sent. */
  readonly resumed: boolean;
  /** Every room the client was in, or is in now. */
  readonly rooms: Readonly<Record<string, RoomRecovery>>;
}

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  /** The HTTP status of a refused handshake, where the WebSocket class tells it (`ws` does, browsers do not). */
  readonly status?: number;
}

export interface RetryInfo {
  /** Retries since the last open (1 for the first). */
  readonly attempt: number;
  readonly delay: number;
}

/** A push as it arrived; `room`, `epoch` and `offset` are set on positioned room broadcasts. */
export interface PushFrame {
  readonly event: string;
  readonly data?: unknown;
  readonly room?: string;
  readonly epoch?: string;
  readonly offset?: number;
}

/** The client's own events. Their `$` names are reserved by the protocol, so they never collide with an app's events. */
export interface ClientEvents {
  $state: ConnectionState;
  $recovery: RecoveryResult;
  $close: CloseInfo;
  /** Another attempt is scheduled, `delay` ms from now (0 after a refused token: the refreshed one is tried at once). */
  $retry: RetryInfo;
  /** Something went wrong outside any request: `auth` or `url` threw, a listener threw, reconnecting gave up (`UNAUTHORIZED`, `DISCONNECTED`). */
  $error: unknown;
}

export interface ClientStats {
  /** Connections opened after the first. */
  reconnects: number;
  /** Messages put in the offline queue. */
  queued: number;
  /** Messages a full queue dropped. */
  dropped: number;
  /** Queued emits older than `queueTtl`, dropped unsent. */
  expired: number;
  /** Room messages dropped because their offset was not past the room's last one. */
  duplicates: number;
  /** Frames that were not JSON objects of the protocol (binary, malformed, unknown `$` events). */
  invalidFrames: number;
  /** Acks for no request in flight. */
  strayAcks: number;
  /** Listeners and hooks that threw. */
  listenerErrors: number;
  /** Now in the queue / waiting for an ack. */
  queueLength: number;
  pending: number;
}

/** What `AbortSignal` has that the client uses. */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface RequestOptions {
  /** ms until the request rejects with `REQUEST_TIMEOUT` (finite). Default: the client's `requestTimeout`. */
  timeout?: number;
  /** Aborting rejects with `ABORTED`; a queued request is removed, never sent. */
  signal?: AbortSignalLike;
}

type RequestArgs<Data> = undefined extends Data ? [data?: Data, options?: RequestOptions] : [data: Data, options?: RequestOptions];
type EmitArgs<Data> = undefined extends Data ? [data?: Data] : [data: Data];

type Timer = ReturnType<typeof setTimeout>;

const enum Sent {
  /** In the offline queue. */
  Queued,
  /** Written to the current connection. */
  Out,
  /** Written to a connection that dropped with a session: re-sent, same id, after the `$recover` ack. */
  Again,
}

interface Request {
  _id: number;
  _frame: string;
  _resolve(value: unknown): void;
  _reject(error: unknown): void;
  _sent: Sent;
  _timer?: Timer;
  _signal?: AbortSignalLike;
  _abort?: () => void;
  /** The client's own `$recover`: tied to one connection, never re-sent. */
  _own?: boolean;
}

interface Queued {
  _frame: string;
  _expires: number;
  _request?: Request;
}

/** Bounds against a server that sends without end. */
const MAX_ROOMS = 10_000;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const error = (code: string, message: string, details?: unknown): SwitchboardClientError => new SwitchboardClientError(code, message, details);

/**
 * A client of protocol v1 for browsers and Node: requests with acks (many in
 * flight), emits, pushes, server requests, reconnect with full-jitter
 * backoff, a bounded offline queue, token auth on every connect, liveness by
 * timestamps, and per-room stream positions with recovery after a reconnect.
 * It never throws into the app because of what the server sends: bad frames
 * are counted in `stats`.
 */
export class SwitchboardClient<M extends EventMap = EventMap> {
  private readonly _options: ResolvedOptions<SwitchboardClient<M>>;
  private readonly _reconnect: Required<ReconnectOptions> | false;
  private _state: ConnectionState = 'closed';
  private _ws?: WebSocketLike;
  /** Open and recovered: messages go out at once. */
  private _ready = false;
  /** Between `connect()` and `close()` (or giving up). */
  private _active = false;
  /** An attempt is getting its URL, token or WebSocket class. */
  private _opening = false;
  /** Why the client stopped; later calls fail with its code. */
  private _closedBy?: SwitchboardClientError;
  /** Bumped by each attempt and by stopping: an attempt that finds it changed gives up. */
  private _generation = 0;
  private _everOpen = false;
  private _attempt = 0;
  private _timer?: Timer;
  private _seq = 0;
  private readonly _pending = new Map<number, Request>();
  private _queue: Queued[] = [];
  private readonly _listeners = new Map<string, Set<(payload: unknown, frame?: unknown) => void>>();
  private readonly _handlers = new Map<string, (data: unknown) => unknown>();
  private _rooms = new Map<string, RoomPosition>();
  /** Rooms joined on this connection before it was recovered: theirs is the new connection's membership already. */
  private _fresh = new Set<string>();
  private _sid?: string;
  /** The session to resume at the next open. */
  private _resume?: string;
  /** The last attempt ended in 401/4401: one refresh, then a second refusal stops. */
  private _refused = false;
  private _lastIn = 0;
  private _pingAt = 0;
  private _due = 0;
  /** The pong deadline passed; the verdict waits one turn of the event loop. */
  private _judging = false;
  private _live?: Timer;
  private readonly _stats = { reconnects: 0, queued: 0, dropped: 0, expired: 0, duplicates: 0, invalidFrames: 0, strayAcks: 0, listenerErrors: 0 };

  constructor(options: SwitchboardClientOptions<SwitchboardClient<M>>) {
    const merged: Record<string, unknown> = { ...DEFAULTS };
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined) {
        merged[key] = value;
      }
    }
    this._options = merged as unknown as ResolvedOptions<SwitchboardClient<M>>;
    const reconnect = options.reconnect;
    this._reconnect = reconnect === false ? false : { ...RECONNECT_DEFAULTS, ...(reconnect === true ? {} : reconnect) };
    if (options.autoConnect !== false) {
      this.connect();
    }
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The rooms the server says this client is in, with the last position seen in each. */
  get rooms(): ReadonlyMap<string, RoomPosition> {
    return new Map(this._rooms);
  }

  /** The session id of the current connection (servers with recovery). */
  get session(): string | undefined {
    return this._sid;
  }

  get stats(): ClientStats {
    return { ...this._stats, queueLength: this._queue.length, pending: this._pending.size };
  }

  /** Starts connecting (done by the constructor unless `autoConnect: false`); after `close()`, connects again. */
  connect(): void {
    if (this._active) {
      return;
    }
    this._active = true;
    this._closedBy = undefined;
    this._attempt = 0;
    this._listen('addEventListener');
    this._setState(this._everOpen ? 'reconnecting' : 'connecting');
    void this._open(false);
  }

  /** Closes for good (until `connect()`): pending and queued requests reject with `CLIENT_CLOSED`. */
  close(): void {
    this._stop(error(Code.CLIENT_CLOSED, 'The client was closed.'));
  }

  /** Sends a message without an ack; queued while not connected. False when it was dropped or the client is closed. */
  emit<E extends ToServerEvent<M>>(event: E, ...[data]: EmitArgs<MessageData<M, E>>): boolean {
    const frame = JSON.stringify({ event, data });
    if (this._closedBy !== undefined) {
      return false;
    }
    if (this._ready) {
      return this._send(this._ws!, frame);
    }
    return this._enqueue({ _frame: frame, _expires: Date.now() + this._options.queueTtl });
  }

  /** Sends a message with an id; resolves with its ack's `data`, rejects with a {@link SwitchboardClientError}. */
  request<E extends ToServerEvent<M>>(event: E, ...[data, options = {}]: RequestArgs<MessageData<M, E>>): Promise<MessageAck<M, E>> {
    return new Promise((resolve, reject) => {
      const closedBy = this._closedBy;
      if (closedBy !== undefined) {
        return reject(error(closedBy.code, closedBy.message));
      }
      const signal = options.signal;
      if (signal?.aborted) {
        return reject(error(Code.ABORTED, 'The request was aborted.'));
      }
      const id = ++this._seq;
      const request: Request = { _id: id, _frame: JSON.stringify({ event, data, id }), _resolve: resolve as (value: unknown) => void, _reject: reject, _sent: Sent.Queued };
      const timeout = options.timeout ?? this._options.requestTimeout;
      this._track(request, timeout, `No ack for "${event}" within ${timeout} ms.`);
      if (signal !== undefined) {
        request._signal = signal;
        request._abort = () => this._settle(request, error(Code.ABORTED, 'The request was aborted.'));
        signal.addEventListener('abort', request._abort);
      }
      if (this._ready) {
        this._send(this._ws!, request._frame);
        request._sent = Sent.Out;
      } else if (!this._enqueue({ _frame: request._frame, _expires: Infinity, _request: request })) {
        this._settle(request, error(Code.QUEUE_FULL, 'The offline queue is full.'));
      }
    });
  }

  /** Listens to a push from the server, or to one of the client's own `$` events. Returns the unsubscribe function. */
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
  on<E extends ToClientEvent<M>>(event: E, listener: (data: PushData<M, E>, frame: PushFrame) => void): () => void;
  on(event: string, listener: (payload: never, frame: never) => void): () => void {
    let listeners = this._listeners.get(event);
    if (listeners === undefined) {
      this._listeners.set(event, (listeners = new Set()));
    }
    const added = listener as (payload: unknown, frame?: unknown) => void;
    listeners.add(added);
    return () => {
      if (listeners.delete(added) && listeners.size === 0 && this._listeners.get(event) === listeners) {
        this._listeners.delete(event);
      }
    };
  }

  /**
   * Answers the server's `client.request(event, data)`: the handler's result
   * (or its promise's) is the ok ack's `data`; a throw is an error ack with the
   * thrown `code` (a string) or `INTERNAL`. One handler per event; events
   * without one are answered `UNKNOWN_EVENT`. Returns the function that removes it.
   */
  onRequest<E extends ServerRequestEvent<M>>(
    event: E,
    handler: (data: ServerRequestData<M, E>) => ServerRequestAck<M, E> | PromiseLike<ServerRequestAck<M, E>>,
  ): () => void {
    const added = handler as (data: unknown) => unknown;
    this._handlers.set(event, added);
    return () => {
      if (this._handlers.get(event) === added) {
        this._handlers.delete(event);
      }
    };
  }

  // --- Connecting. ---------------------------------------------------------

  private async _open(refresh: boolean): Promise<void> {
    const generation = ++this._generation;
    const options = this._options;
    clearTimeout(this._timer);
    // The whole attempt (URL, token, handshake) has connectTimeout to open.
    this._timer = setTimeout(() => {
      if (this._ws !== undefined) {
        this._drop(this._ws, 'connect timeout');
      } else {
        this._generation++;
        this._opening = false;
        this._retry();
      }
    }, options.connectTimeout);
    this._opening = true;
    let ws: WebSocketLike;
    let status = 0;
    try {
      await null; // never call app code, or emit, inside the constructor or connect(): listeners are not attached yet
      let url = typeof options.url === 'function' ? await options.url() : options.url;
      const token = options.auth && (await options.auth({ refresh }));
      const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? (await loadWebSocket());
      if (generation !== this._generation) {
        return;
      }
      const protocols = [...(options.protocols ?? [])];
      if (token) {
        if (options.tokenIn === 'protocol') {
          protocols.unshift(options.tokenName, token);
        } else {
          url += `${url.includes('?') ? '&' : '?'}${encodeURIComponent(options.tokenName)}=${encodeURIComponent(token)}`;
        }
      }
      ws = new WebSocket(url, protocols.length > 0 ? protocols : undefined) as WebSocketLike;
    } catch (failure) {
      if (generation === this._generation) {
        this._opening = false;
        this._emit('$error', failure);
        this._retry();
      }
      return;
    }
    this._opening = false;
    this._ws = ws;
    ws.binaryType = 'arraybuffer';
    // `ws` tells a refused handshake only in its error's message; browsers tell nothing.
    ws.onerror = (event) => {
      const refusal = /response: (\d+)/.exec(String(event?.message));
      if (refusal !== null) {
        status = Number(refusal[1]);
      }
    };
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = (event) => this._onFrame(ws, event.data);
    ws.onclose = (event) => this._onClose(ws, event.code, event.reason, status);
  }

  private _onOpen(ws: WebSocketLike): void {
    if (ws !== this._ws) {
      return;
    }
    clearTimeout(this._timer);
    this._attempt = 0;
    this._lastIn = Date.now();
    this._pingAt = 0;
    this._fresh.clear();
    this._schedule(this._options.pingInterval);
    const again = this._everOpen;
    if (again) {
      this._stats.reconnects++;
    }
    this._everOpen = true;
    const sid = this._resume;
    if (sid === undefined) {
      return this._recovered(ws, again, undefined);
    }
    // The first frame of a reconnect with a session: where the client was in each room.
    const id = ++this._seq;
    const request: Request = {
      _id: id,
      _frame: JSON.stringify({ event: '$recover', id, data: { sid, rooms: Object.fromEntries(this._rooms) } }),
      _resolve: (answer) => this._recovered(ws, again, answer),
      _reject: () => this._recovered(ws, again, undefined),
      _sent: Sent.Out,
      _own: true,
    };
    this._track(request, this._options.requestTimeout, '');
    this._send(ws, request._frame);
  }

  /** After the `$recover` ack (or at once without a session): positions, in-flight requests, rejoin, the queue. */
  private _recovered(ws: WebSocketLike, again: boolean, answer: unknown): void {
    if (ws !== this._ws) {
      return;
    }
    const resumed = isObject(answer) && isObject(answer.rooms) && answer.session !== 'expired';
    const before = this._rooms;
    const results: Array<[string, RoomRecovery]> = [];
    this._rooms = new Map();
    if (resumed) {
      const answered = answer.rooms as Record<string, unknown>;
      for (const room of Object.keys(answered)) {
        const result = answered[room];
        if (isObject(result) && typeof result.epoch === 'string' && typeof result.offset === 'number' && this._rooms.size < MAX_ROOMS) {
          // Replayed frames may already have moved past the answer's offset.
          const seen = before.get(room);
          const offset = seen?.epoch === result.epoch ? Math.max(seen.offset, result.offset) : result.offset;
          this._rooms.set(room, { epoch: result.epoch, offset });
          results.push([room, { recovered: result.recovered === true, epoch: result.epoch, offset, replayed: typeof result.replayed === 'number' ? result.replayed : undefined }]);
        }
      }
    }
    const lost: string[] = [];
    for (const [room, position] of before) {
      if (this._fresh.has(room)) {
        this._rooms.set(room, position);
      } else if (!this._rooms.has(room)) {
        lost.push(room);
        results.push([room, { recovered: false, ...position }]);
      }
    }
    this._fresh.clear();
    this._resume = undefined;
    for (const request of this._pending.values()) {
      if (request._sent === Sent.Again) {
        if (resumed) {
          // Same id: the server's dedup window answers it without running the handler twice.
          request._sent = Sent.Out;
          this._send(ws, request._frame);
        } else {
          this._settle(request, error(Code.DISCONNECTED, 'The connection dropped before the ack came, and the session could not be resumed.'));
        }
      }
    }
    this._ready = true;
    if (!resumed && this._options.rejoin !== undefined) {
      for (const room of lost) {
        this._guard(this._options.rejoin, room, this);
      }
    }
    this._flush(ws);
    this._setState('open');
    if (again) {
      this._emit('$recovery', { resumed, rooms: Object.fromEntries(results) });
    }
  }

  private _onClose(ws: WebSocketLike, code: number, reason: string, status: number): void {
    if (ws !== this._ws) {
      return;
    }
    this._ws = undefined;
    this._ready = false;
    clearTimeout(this._timer);
    clearTimeout(this._live);
    const session = this._sid;
    this._keepSession();
    for (const request of this._pending.values()) {
      if (request._sent === Sent.Out) {
        if (session !== undefined && request._own !== true) {
          request._sent = Sent.Again;
        } else {
          this._settle(request, error(Code.DISCONNECTED, 'The connection dropped before the ack came.'));
        }
      }
    }
    this._emit('$close', status > 0 ? { code, reason, status } : { code, reason });
    if (!this._active) {
      return; // a $close listener called close()
    }
    if (status === 401 || code === 4401) {
      if (this._refused) {
        return this._fail(Code.UNAUTHORIZED, 'The server refused the token, also after auth({ refresh: true }).');
      }
      this._refused = true;
      this._setState('reconnecting');
      this._emit('$retry', { attempt: ++this._attempt, delay: 0 });
      void this._open(true);
      return;
    }
    this._refused = false;
    this._retry();
  }

  /**
   * The session to resume next: this connection's, unless it dropped before its
   * `$recover` was answered. Then the older one still holds the rooms (or the
   * server says it expired: an explicit loss, never a silent one).
   */
  private _keepSession(): void {
    if (this._resume === undefined) {
      this._resume = this._sid;
    }
    this._sid = undefined;
  }

  private _retry(): void {
    const backoff = this._reconnect;
    if (backoff === false || this._attempt >= backoff.maxAttempts) {
      return this._fail(Code.DISCONNECTED, 'Gave up reconnecting.');
    }
    this._setState('reconnecting');
    clearTimeout(this._timer);
    // Full jitter: the whole window is random, so clients dropped together come back spread out.
    const delay = Math.random() * Math.min(backoff.maxDelay, backoff.delay * 2 ** this._attempt++);
    this._timer = setTimeout(() => void this._open(false), delay);
    this._emit('$retry', { attempt: this._attempt, delay });
  }

  /** Abandons a connection that is not answering (the close handshake could take as long). */
  private _drop(ws: WebSocketLike, reason: string): void {
    this._onClose(ws, 1006, reason, 0);
    try {
      const terminate = (ws as { terminate?: () => void }).terminate;
      terminate !== undefined ? terminate.call(ws) : ws.close();
    } catch {
      // already closed
    }
  }

  private _fail(code: string, message: string): void {
    const failure = error(code, message);
    this._stop(failure);
    this._emit('$error', failure);
  }

  private _stop(reason: SwitchboardClientError): void {
    this._active = false;
    this._opening = false;
    this._closedBy = reason;
    this._generation++;
    this._listen('removeEventListener');
    clearTimeout(this._timer);
    clearTimeout(this._live);
    const ws = this._ws;
    if (ws !== undefined) {
      this._ws = undefined;
      this._ready = false;
      this._keepSession();
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    for (const request of this._pending.values()) {
      this._settle(request, error(reason.code, reason.message));
    }
    this._queue = [];
    this._setState('closed');
  }

  private _listen(method: 'addEventListener' | 'removeEventListener'): void {
    const target = globalThis as { [key: string]: unknown };
    if (typeof target[method] === 'function') {
      const call = target[method] as (type: string, listener: () => void) => void;
      call.call(target, 'online', this._online);
      call.call(target, 'offline', this._offline);
    }
  }

  /** Back online: try at once rather than at the end of the backoff window. */
  private readonly _online = (): void => {
    if (this._active && this._ws === undefined && !this._opening) {
      this._attempt = 0;
      void this._open(this._refused);
    }
  };

  /** Gone offline: the connection may be dead; ask, and judge by the answer. */
  private readonly _offline = (): void => {
    if (this._ws?.readyState === OPEN) {
      this._ping(this._ws);
    }
  };

  // --- Liveness: timestamps, not tick counts. -------------------------------

  private _schedule(delay: number): void {
    if (this._options.pingInterval > 0) {
      clearTimeout(this._live);
      this._due = Date.now() + delay;
      this._live = setTimeout(() => this._tick(), delay);
    }
  }

  private _tick(): void {
    const ws = this._ws;
    if (ws === undefined) {
      return;
    }
    const { pingInterval, pongTimeout } = this._options;
    const now = Date.now();
    if (now - this._due > pongTimeout / 2) {
      // The timer itself came late (a throttled tab, a blocked loop): judge nothing; ask, and wait a full pongTimeout.
      return this._ping(ws);
    }
    if (this._pingAt > 0) {
      if (now - this._pingAt >= pongTimeout) {
        if (this._judging) {
          return this._drop(ws, 'no answer to $ping');
        }
        // Judge on the next turn of the event loop, once it has read what already arrived (a $pong may wait behind this timer).
        this._judging = true;
        return this._schedule(0);
      }
      return this._schedule(this._pingAt + pongTimeout - now);
    }
    if (now - this._lastIn >= pingInterval) {
      return this._ping(ws);
    }
    this._schedule(this._lastIn + pingInterval - now);
  }

  private _ping(ws: WebSocketLike): void {
    this._pingAt = Date.now();
    this._judging = false;
    this._send(ws, '{"event":"$ping"}');
    this._schedule(this._options.pongTimeout);
  }

  // --- Frames in. -----------------------------------------------------------

  private _onFrame(ws: WebSocketLike, raw: unknown): void {
    if (ws !== this._ws) {
      return;
    }
    this._lastIn = Date.now();
    this._pingAt = 0;
    this._judging = false;
    let frame: unknown;
    try {
      frame = typeof raw === 'string' ? JSON.parse(raw) : undefined;
    } catch {
      // counted below
    }
    if (!isObject(frame)) {
      this._stats.invalidFrames++;
      return;
    }
    const { event, id, data } = frame;
    if (typeof event !== 'string') {
      return this._onAck(frame, id);
    }
    if (event !== '$session') {
      this._refused = false; // the server is serving this token
    }
    if (id !== undefined) {
      return this._answer(ws, event, data, id);
    }
    if (event.startsWith('$')) {
      return this._onSystem(event, isObject(data) ? data : {});
    }
    const { room, epoch, offset } = frame;
    if (typeof room === 'string' && typeof epoch === 'string' && typeof offset === 'number') {
      const last = this._rooms.get(room);
      if (last !== undefined) {
        if (last.epoch === epoch && offset <= last.offset) {
          this._stats.duplicates++;
          return;
        }
        this._rooms.set(room, { epoch, offset });
      }
    }
    this._emit(event, data, frame);
  }

  private _onAck(frame: Record<string, unknown>, id: unknown): void {
    const request = typeof id === 'number' ? this._pending.get(id) : undefined;
    if (frame.status !== 'ok' && frame.status !== 'error') {
      this._stats.invalidFrames++;
    } else if (request === undefined || request._sent === Sent.Queued) {
      this._stats.strayAcks++;
    } else if (frame.status === 'ok') {
      this._settle(request, undefined, frame.data);
    } else {
      const body = isObject(frame.error) ? frame.error : {};
      this._settle(
        request,
        error(typeof body.code === 'string' ? body.code : Code.INTERNAL, typeof body.message === 'string' ? body.message : 'The request failed.', body.details),
      );
    }
  }

  private _onSystem(event: string, data: Record<string, unknown>): void {
    const { room, epoch, offset, sid } = data;
    if (event === '$session' && typeof sid === 'string') {
      this._sid = sid;
    } else if (event === '$joined' && typeof room === 'string' && typeof epoch === 'string' && typeof offset === 'number') {
      if (this._rooms.size < MAX_ROOMS || this._rooms.has(room)) {
        this._rooms.set(room, { epoch, offset });
        if (!this._ready) {
          this._fresh.add(room);
        }
      }
    } else if (event === '$left' && typeof room === 'string') {
      this._rooms.delete(room);
      this._fresh.delete(room);
    } else if (event !== '$pong') {
      this._stats.invalidFrames++;
    }
  }

  /** A server request: one answer, on the connection it came from. */
  private _answer(ws: WebSocketLike, event: string, data: unknown, id: unknown): void {
    if (typeof id !== 'string' && !Number.isFinite(id)) {
      this._stats.invalidFrames++;
      return;
    }
    const handler = this._handlers.get(event);
    new Promise((resolve) => resolve(handler === undefined ? Promise.reject(error(Code.UNKNOWN_EVENT, 'No handler for this event.')) : handler(data)))
      .then(
        (result) => ({ id, status: 'ok', data: result ?? null }),
        (failure: { code?: unknown; message?: unknown; details?: unknown } | undefined) => ({
          id,
          status: 'error',
          error: {
            code: typeof failure?.code === 'string' ? failure.code : Code.INTERNAL,
            message: typeof failure?.message === 'string' ? failure.message : 'The request failed.',
            details: failure?.details,
          },
        }),
      )
      .then((ack) => {
        let text: string;
        try {
          text = JSON.stringify(ack);
        } catch {
          text = JSON.stringify({ id, status: 'error', error: { code: Code.INTERNAL, message: 'The answer could not be encoded.' } });
        }
        if (ws === this._ws) {
          this._send(ws, text);
        }
      });
  }

  // --- Frames out, the queue, requests. ------------------------------------

  private _send(ws: WebSocketLike, frame: string): boolean {
    try {
      ws.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  private _enqueue(entry: Queued): boolean {
    const { maxQueued, dropPolicy } = this._options;
    if (this._queue.length >= maxQueued) {
      const now = Date.now();
      const kept = this._queue.filter((queued) => queued._expires > now);
      this._stats.expired += this._queue.length - kept.length;
      this._queue = kept;
    }
    if (this._queue.length >= maxQueued) {
      this._stats.dropped++;
      const oldest = dropPolicy === 'oldest' ? this._queue.shift() : undefined;
      if (oldest === undefined) {
        return false;
      }
      if (oldest._request !== undefined) {
        this._settle(oldest._request, error(Code.QUEUE_FULL, 'Dropped from the full offline queue.'));
      }
    }
    this._queue.push(entry);
    this._stats.queued++;
    return true;
  }

  private _flush(ws: WebSocketLike): void {
    const queue = this._queue;
    this._queue = [];
    const now = Date.now();
    for (const entry of queue) {
      if (entry._request !== undefined) {
        entry._request._sent = Sent.Out;
        this._send(ws, entry._frame);
      } else if (entry._expires > now) {
        this._send(ws, entry._frame);
      } else {
        this._stats.expired++;
      }
    }
  }

  private _track(request: Request, timeout: number, message: string): void {
    this._pending.set(request._id, request);
    // Clamped to what timers take (a longer one would fire at once).
    request._timer = setTimeout(() => this._settle(request, error(Code.REQUEST_TIMEOUT, message)), Math.min(timeout, 2 ** 31 - 1));
  }

  /** Settles a request once: its timer, abort listener and queue entry go with it. */
  private _settle(request: Request, failure?: SwitchboardClientError, value?: unknown): void {
    if (!this._pending.delete(request._id)) {
      return;
    }
    clearTimeout(request._timer);
    request._signal?.removeEventListener('abort', request._abort!);
    if (request._sent === Sent.Queued) {
      const index = this._queue.findIndex((entry) => entry._request === request);
      if (index !== -1) {
        this._queue.splice(index, 1);
      }
    }
    failure === undefined ? request._resolve(value) : request._reject(failure);
  }

  // --- Events. ---------------------------------------------------------------

  private _setState(state: ConnectionState): void {
    if (state !== this._state) {
      this._state = state;
      this._emit('$state', state);
    }
  }

  private _emit(event: string, payload: unknown, frame?: unknown): void {
    const listeners = this._listeners.get(event);
    if (listeners !== undefined) {
      for (const listener of [...listeners]) {
        this._guard(listener, payload, frame, event);
      }
    }
  }

  /** Runs app code; a throw is counted and reported as `$error` (never thrown into the client's own work). */
  private _guard(run: (a: never, b: never) => unknown, a: unknown, b: unknown, event?: string): void {
    try {
      run(a as never, b as never);
    } catch (failure) {
      this._stats.listenerErrors++;
      if (event !== '$error') {
        this._emit('$error', failure);
      }
    }
  }
}
