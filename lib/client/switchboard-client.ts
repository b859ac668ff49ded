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
import { backoff, retryDelay, type Backoff } from './backoff.js';
import { ClientErrorCode as Code, clientError, type SwitchboardClientError } from './client-error.js';
import { Listeners, type ClientEvents, type ConnectionState, type PushFrame } from './client-events.js';
import { DEFAULTS, type ResolvedOptions, type SwitchboardClientOptions } from './client-options.js';
import type { ClientCounters, ClientStats } from './client-stats.js';
import { prepareHandshake } from './handshake.js';
import { isObject } from './is-object.js';
import { Liveness } from './liveness.js';
import { OfflineQueue } from './offline-queue.js';
import { PendingRequests, type Request, type RequestOptions } from './pending-requests.js';
import { Recovery, type RoomPosition } from './recovery.js';
import { ServerRequests } from './server-requests.js';
import { OPEN, send, type WebSocketLike } from './web-socket.js';

type RequestArgs<Data> = undefined extends Data ? [data?: Data, options?: RequestOptions] : [data: Data, options?: RequestOptions];
type EmitArgs<Data> = undefined extends Data ? [data?: Data] : [data: Data];

/**
 * A client of protocol v1 for browsers and Node: requests with acks (many in
 * flight), emits, pushes, server requests, reconnect with full-jitter
 * backoff, a bounded offline queue, token auth on every connect, liveness by
 * timestamps, and per-room stream positions with recovery after a reconnect.
 * It never throws into the app because of what the server sends: bad frames
 * are counted in `stats`.
 *
 * This class is the connection's lifecycle (attempt, open, recovered, close,
 * retry, stop) and the dispatch of the frames that arrive. What it drives is
 * in files of its own, each handed the options, the shared counters and a
 * callback or two, and none importing this class: the backoff schedule, the
 * offline queue, the requests in flight, room positions and recovery,
 * liveness, the listeners, the answers to server requests, the handshake's
 * URL and token. The order of the steps on open, on recovery and on close is
 * the protocol's and spans those parts, so it stays here, in one place.
 */
export class SwitchboardClient<M extends EventMap = EventMap> {
  private readonly _options: ResolvedOptions<SwitchboardClient<M>>;
  private readonly _backoff: Backoff;
  /** Retries since the last open (also reset by `connect()` and by coming back online): the backoff's exponent, `$retry`'s `attempt`. */
  private _attempt = 0;
  private readonly _counters: ClientCounters = { reconnects: 0, queued: 0, dropped: 0, expired: 0, duplicates: 0, invalidFrames: 0, strayAcks: 0, listenerErrors: 0 };
  private readonly _listeners = new Listeners(this._counters);
  private readonly _queue: OfflineQueue<Request>;
  private readonly _requests: PendingRequests;
  private readonly _recovery = new Recovery(this._counters);
  private readonly _liveness: Liveness;
  private readonly _serverRequests = new ServerRequests();
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
  /** The attempt's `connectTimeout`, or the wait before the next attempt. */
  private _timer?: ReturnType<typeof setTimeout>;
  /** The last attempt ended in 401/4401: one refresh, then a second refusal stops. */
  private _refused = false;

  constructor(options: SwitchboardClientOptions<SwitchboardClient<M>>) {
    const merged: Record<string, unknown> = { ...DEFAULTS };
    for (const [key, value] of Object.entries(options)) {
      if (value !== undefined) {
        merged[key] = value;
      }
    }
    this._options = merged as unknown as ResolvedOptions<SwitchboardClient<M>>;
    this._backoff = backoff(options.reconnect);
    this._queue = new OfflineQueue(this._options, this._counters, (request) => this._requests._settle(request, clientError(Code.QUEUE_FULL, 'Dropped from the full offline queue.')));
    this._requests = new PendingRequests(this._queue, this._counters);
    this._liveness = new Liveness(this._options, (ws) => this._drop(ws, 'no answer to $ping'));
    if (options.autoConnect !== false) {
      this.connect();
    }
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** The rooms the server says this client is in, with the last position seen in each. */
  get rooms(): ReadonlyMap<string, RoomPosition> {
    return new Map(this._recovery._rooms);
  }

  /** The session id of the current connection (servers with recovery). */
  get session(): string | undefined {
    return this._recovery._sid;
  }

  get stats(): ClientStats {
    return { ...this._counters, queueLength: this._queue._entries.length, pending: this._requests._byId.size };
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
    this._stop(clientError(Code.CLIENT_CLOSED, 'The client was closed.'));
  }

  /** Sends a message without an ack; queued while not connected. False when it was dropped or the client is closed. */
  emit<E extends ToServerEvent<M>>(event: E, ...[data]: EmitArgs<MessageData<M, E>>): boolean {
    const frame = JSON.stringify({ event, data });
    if (this._closedBy !== undefined) {
      return false;
    }
    if (this._ready) {
      return send(this._ws!, frame);
    }
    return this._queue._add({ _frame: frame, _expires: Date.now() + this._options.queueTtl });
  }

  /** Sends a message with an id; resolves with its ack's `data`, rejects with a {@link SwitchboardClientError}. */
  request<E extends ToServerEvent<M>>(event: E, ...[data, options = {}]: RequestArgs<MessageData<M, E>>): Promise<MessageAck<M, E>> {
    return new Promise((resolve, reject) => {
      const closedBy = this._closedBy;
      if (closedBy !== undefined) {
        return reject(clientError(closedBy.code, closedBy.message));
      }
      const signal = options.signal;
      if (signal?.aborted) {
        return reject(clientError(Code.ABORTED, 'The request was aborted.'));
      }
      const timeout = options.timeout ?? this._options.requestTimeout;
      const request = this._requests._add(
        (id) => JSON.stringify({ event, data, id }),
        resolve as (value: unknown) => void,
        reject,
        timeout,
        `No ack for "${event}" within ${timeout} ms.`,
        signal,
      );
      if (this._ready) {
        this._requests._write(this._ws!, request);
      } else if (!this._queue._add({ _frame: request._frame, _expires: Infinity, _request: request })) {
        this._requests._settle(request, clientError(Code.QUEUE_FULL, 'The offline queue is full.'));
      }
    });
  }

  /** Listens to a push from the server, or to one of the client's own `$` events. Returns the unsubscribe function. */
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
  on<E extends ToClientEvent<M>>(event: E, listener: (data: PushData<M, E>, frame: PushFrame) => void): () => void;
  on(event: string, listener: (payload: never, frame: never) => void): () => void {
    return this._listeners._on(event, listener as (payload: unknown, frame?: unknown) => void);
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
    return this._serverRequests._handle(event, handler as (data: unknown) => unknown);
  }

  // --- Connecting. ---------------------------------------------------------

  private async _open(refresh: boolean): Promise<void> {
    const generation = ++this._generation;
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
    }, this._options.connectTimeout);
    this._opening = true;
    let ws: WebSocketLike;
    let status = 0;
    try {
      await null; // never call app code, or emit, inside the constructor or connect(): listeners are not attached yet
      const open = await prepareHandshake(this._options, refresh);
      if (generation !== this._generation) {
        return;
      }
      ws = open();
    } catch (failure) {
      if (generation === this._generation) {
        this._opening = false;
        this._listeners._emit('$error', failure);
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
    this._liveness._start(ws);
    const sid = this._recovery._opened();
    const again = this._everOpen;
    if (again) {
      this._counters.reconnects++;
    }
    this._everOpen = true;
    if (sid === undefined) {
      return this._recovered(ws, again, undefined);
    }
    // The first frame of a reconnect with a session: where the client was in each room. Nothing else goes out before its ack.
    // Any failure (a timeout, the connection dropping) is as good as an answer without rooms: nothing was resumed.
    const recovered = (answer: unknown): void => this._recovered(ws, again, answer);
    this._requests._write(ws, this._requests._add((id) => this._recovery._ask(sid, id), recovered, recovered, this._options.requestTimeout, '', undefined, true));
  }

  /** After the `$recover` ack (or at once without a session): positions, in-flight requests, rejoin, the queue. */
  private _recovered(ws: WebSocketLike, again: boolean, answer: unknown): void {
    if (ws !== this._ws) {
      return;
    }
    const [result, lost] = this._recovery._recovered(answer);
    this._requests._resume(ws, result.resumed);
    this._ready = true;
    if (!result.resumed && this._options.rejoin !== undefined) {
      for (const room of lost) {
        this._listeners._guard(this._options.rejoin, room, this);
      }
    }
    for (const entry of this._queue._drain()) {
      entry._request !== undefined ? this._requests._write(ws, entry._request) : send(ws, entry._frame);
    }
    this._setState('open');
    if (again) {
      this._listeners._emit('$recovery', result);
    }
  }

  private _onClose(ws: WebSocketLike, code: number, reason: string, status: number): void {
    if (ws !== this._ws) {
      return;
    }
    this._ws = undefined;
    this._ready = false;
    clearTimeout(this._timer);
    this._liveness._stop();
    const session = this._recovery._sid !== undefined;
    this._recovery._keepSession();
    this._requests._disconnected(session);
    this._listeners._emit('$close', status > 0 ? { code, reason, status } : { code, reason });
    if (!this._active) {
      return; // a $close listener called close()
    }
    if (status === 401 || code === 4401) {
      if (this._refused) {
        return this._fail(Code.UNAUTHORIZED, 'The server refused the token, also after auth({ refresh: true }).');
      }
      this._refused = true;
      this._setState('reconnecting');
      this._listeners._emit('$retry', { attempt: ++this._attempt, delay: 0 });
      void this._open(true);
      return;
    }
    this._refused = false;
    this._retry();
  }

  private _retry(): void {
    if (this._attempt >= this._backoff.maxAttempts) {
      return this._fail(Code.DISCONNECTED, 'Gave up reconnecting.');
    }
    this._setState('reconnecting');
    clearTimeout(this._timer);
    const delay = retryDelay(this._backoff, this._attempt++);
    this._timer = setTimeout(() => void this._open(false), delay);
    this._listeners._emit('$retry', { attempt: this._attempt, delay });
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
    const failure = clientError(code, message);
    this._stop(failure);
    this._listeners._emit('$error', failure);
  }

  private _stop(reason: SwitchboardClientError): void {
    this._active = false;
    this._opening = false;
    this._closedBy = reason;
    this._generation++;
    this._listen('removeEventListener');
    clearTimeout(this._timer);
    this._liveness._stop();
    const ws = this._ws;
    if (ws !== undefined) {
      this._ws = undefined;
      this._ready = false;
      this._recovery._keepSession();
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    this._requests._rejectAll(reason);
    // Only emits are left (each request took its entry out as it settled above): dropped unsent.
    this._queue._entries = [];
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
      this._liveness._ping(this._ws);
    }
  };

  // --- Frames in. -----------------------------------------------------------

  private _onFrame(ws: WebSocketLike, raw: unknown): void {
    if (ws !== this._ws) {
      return;
    }
    this._liveness._heard();
    let frame: unknown;
    try {
      frame = typeof raw === 'string' ? JSON.parse(raw) : undefined;
    } catch {
      // counted below
    }
    if (!isObject(frame)) {
      this._counters.invalidFrames++;
      return;
    }
    const { event, id, data } = frame;
    if (typeof event !== 'string') {
      return this._requests._onAck(frame, id);
    }
    if (event !== '$session') {
      this._refused = false; // the server is serving this token
    }
    if (id !== undefined) {
      // A server request: one answer, on the connection it came from.
      if (typeof id !== 'string' && !Number.isFinite(id)) {
        this._counters.invalidFrames++;
        return;
      }
      return this._serverRequests._answer(event, data, id, (ack) => {
        if (ws === this._ws) {
          send(ws, ack);
        }
      });
    }
    if (event.startsWith('$')) {
      if (!this._recovery._onSystem(event, isObject(data) ? data : {}, this._ready) && event !== '$pong') {
        this._counters.invalidFrames++;
      }
      return;
    }
    if (!this._recovery._isDuplicate(frame)) {
      this._listeners._emit(event, data, frame);
    }
  }

  private _setState(state: ConnectionState): void {
    if (state !== this._state) {
      this._state = state;
      this._listeners._emit('$state', state);
    }
  }
}
