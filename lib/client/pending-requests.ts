import { ClientErrorCode as Code, clientError, type SwitchboardClientError } from './client-error.js';
import type { ClientCounters } from './client-stats.js';
import { isObject } from './is-object.js';
import type { OfflineQueue } from './offline-queue.js';
import { send, type WebSocketLike } from './web-socket.js';

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

/** Where a request's frame is; what a dropped connection does to it depends on this alone. */
export const enum Sent {
  /** In the offline queue. */
  Queued,
  /** Written to the current connection. */
  Out,
  /** Written to a connection that dropped with a session: re-sent, same id, after the `$recover` ack. */
  Again,
}

export interface Request {
  readonly _id: number;
  readonly _frame: string;
  readonly _resolve: (value: unknown) => void;
  readonly _reject: (error: unknown) => void;
  _sent: Sent;
  _timer?: ReturnType<typeof setTimeout>;
  _signal?: AbortSignalLike;
  _abort?: () => void;
  /** The client's own `$recover`: tied to one connection, never re-sent. */
  readonly _own?: boolean;
}

/**
 * The requests waiting for an ack, by id. Ids count up for the client's whole
 * life, never per connection: a request written to a connection that dropped
 * is re-sent with its own id once the session is resumed, and the server's
 * dedup window answers it without running the handler twice. A request
 * settles once, by its ack, its timeout, its signal, a full queue or a lost
 * connection, whichever comes first: settling takes it out of the map before
 * anything else (a late ack, timer or abort then finds nothing), and takes
 * its timer, abort listener and queue entry with it.
 */
export class PendingRequests {
  /** The last id given; never reused. */
  _lastId = 0;
  readonly _byId = new Map<number, Request>();

  constructor(
    private readonly _queue: OfflineQueue<Request>,
    private readonly _counters: Pick<ClientCounters, 'invalidFrames' | 'strayAcks'>,
  ) {}

  /** A new request, in flight from now on (`frame(id)` encodes it); the caller writes it (`_write`) or queues it. */
  _add(
    frame: (id: number) => string,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
    timeout: number,
    message: string,
    signal?: AbortSignalLike,
    own?: boolean,
  ): Request {
    const id = ++this._lastId;
    const request: Request = { _id: id, _frame: frame(id), _resolve: resolve, _reject: reject, _sent: Sent.Queued, _own: own };
    this._byId.set(id, request);
    // Clamped to what timers take (a longer one would fire at once).
    request._timer = setTimeout(() => this._settle(request, clientError(Code.REQUEST_TIMEOUT, message)), Math.min(timeout, 2 ** 31 - 1));
    if (signal !== undefined) {
      request._signal = signal;
      request._abort = () => this._settle(request, clientError(Code.ABORTED, 'The request was aborted.'));
      signal.addEventListener('abort', request._abort);
    }
    return request;
  }

  /** Writes a request to the connection (from the caller or the queue). */
  _write(ws: WebSocketLike, request: Request): void {
    request._sent = Sent.Out;
    send(ws, request._frame);
  }

  /** Settles a request once: its timer, abort listener and queue entry go with it. */
  _settle(request: Request, failure?: SwitchboardClientError, value?: unknown): void {
    if (!this._byId.delete(request._id)) {
      return;
    }
    clearTimeout(request._timer);
    request._signal?.removeEventListener('abort', request._abort!);
    if (request._sent === Sent.Queued) {
      this._queue._remove(request);
    }
    failure === undefined ? request._resolve(value) : request._reject(failure);
  }

  /** A frame without `event`: the ack of the request `id`, which it settles. */
  _onAck(frame: Record<string, unknown>, id: unknown): void {
    const request = typeof id === 'number' ? this._byId.get(id) : undefined;
    if (frame.status !== 'ok' && frame.status !== 'error') {
      this._counters.invalidFrames++;
    } else if (request === undefined || request._sent === Sent.Queued) {
      // Not in flight, or not sent yet (an id the server cannot know): no ack of ours.
      this._counters.strayAcks++;
    } else if (frame.status === 'ok') {
      this._settle(request, undefined, frame.data);
    } else {
      const body = isObject(frame.error) ? frame.error : {};
      this._settle(
        request,
        clientError(typeof body.code === 'string' ? body.code : Code.INTERNAL, typeof body.message === 'string' ? body.message : 'The request failed.', body.details),
      );
    }
  }

  /**
   * The connection dropped. With a session, what it carried waits to be
   * re-sent after the `$recover` ack (`_resume`); without one nothing says
   * whether the server ran it, so it fails.
   */
  _disconnected(session: boolean): void {
    for (const request of this._byId.values()) {
      if (request._sent === Sent.Out) {
        if (session && request._own !== true) {
          request._sent = Sent.Again;
        } else {
          this._settle(request, clientError(Code.DISCONNECTED, 'The connection dropped before the ack came.'));
        }
      }
    }
  }

  /** After the `$recover` ack: the requests of the dropped connection go again, or fail if the session is gone. */
  _resume(ws: WebSocketLike, resumed: boolean): void {
    for (const request of this._byId.values()) {
      if (request._sent === Sent.Again) {
        if (resumed) {
          // Same id: the server's dedup window answers it without running the handler twice.
          this._write(ws, request);
        } else {
          this._settle(request, clientError(Code.DISCONNECTED, 'The connection dropped before the ack came, and the session could not be resumed.'));
        }
      }
    }
  }

  /** The client stopped: every request fails with its reason. */
  _rejectAll(reason: SwitchboardClientError): void {
    for (const request of this._byId.values()) {
      this._settle(request, clientError(reason.code, reason.message));
    }
  }
}
