import type { SwitchboardClientOptions } from './client-options.js';
import { send, type WebSocketLike } from './web-socket.js';

type LivenessOptions = Required<Pick<SwitchboardClientOptions, 'pingInterval' | 'pongTimeout'>>;

/**
 * Whether the server is still there, judged by timestamps, not tick counts:
 * any frame from the server is a sign of life; after `pingInterval` ms of
 * silence the client sends `$ping`, and a connection that stays silent
 * `pongTimeout` ms after it is dropped. One timer, re-armed for the next
 * moment something could be due, so a busy connection costs no pings. A
 * browser throttles the timers of a background tab and a blocked loop makes
 * them late: a timer that fires far past its time judges nothing, it only
 * asks again, so a sleeping laptop is not mistaken for a dead server.
 */
export class Liveness {
  /** `Date.now()` of the last frame in. */
  private _lastIn = 0;
  /** `Date.now()` of the unanswered `$ping`, 0 when none. */
  private _pingAt = 0;
  /** When the timer should fire, to tell a late one. */
  private _due = 0;
  /** The pong deadline passed; the verdict waits one turn of the event loop. */
  private _judging = false;
  private _timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly _options: LivenessOptions,
    /** The connection did not answer: the client abandons it. */
    private readonly _onDead: (ws: WebSocketLike) => void,
  ) {}

  /** A connection opened: watched from now on (`pingInterval` 0: never). */
  _start(ws: WebSocketLike): void {
    this._heard();
    this._schedule(ws, this._options.pingInterval);
  }

  /** The connection is gone (or the client stopped). */
  _stop(): void {
    clearTimeout(this._timer);
  }

  /** A frame arrived: the server is there, whatever the frame is. */
  _heard(): void {
    this._lastIn = Date.now();
    this._pingAt = 0;
    this._judging = false;
  }

  /** Asks now (also when the browser says it went offline: the connection may be dead), and waits a full `pongTimeout`. */
  _ping(ws: WebSocketLike): void {
    this._pingAt = Date.now();
    this._judging = false;
    send(ws, '{"event":"$ping"}');
    this._schedule(ws, this._options.pongTimeout);
  }

  /** Arms the one timer for `ws`; stopping clears it, so it never fires for a connection that is gone. */
  private _schedule(ws: WebSocketLike, delay: number): void {
    if (this._options.pingInterval > 0) {
      clearTimeout(this._timer);
      this._due = Date.now() + delay;
      this._timer = setTimeout(() => this._tick(ws), delay);
    }
  }

  private _tick(ws: WebSocketLike): void {
    const { pingInterval, pongTimeout } = this._options;
    const now = Date.now();
    if (now - this._due > pongTimeout / 2) {
      // The timer itself came late (a throttled tab, a blocked loop): judge nothing; ask, and wait a full pongTimeout.
      return this._ping(ws);
    }
    if (this._pingAt > 0) {
      if (now - this._pingAt >= pongTimeout) {
        if (this._judging) {
          return this._onDead(ws);
        }
        // Judge on the next turn of the event loop, once it has read what already arrived (a $pong may wait behind this timer).
        this._judging = true;
        return this._schedule(ws, 0);
      }
      return this._schedule(ws, this._pingAt + pongTimeout - now);
    }
    if (now - this._lastIn >= pingInterval) {
      return this._ping(ws);
    }
    this._schedule(ws, this._lastIn + pingInterval - now);
  }
}
