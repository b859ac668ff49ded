import type { ClientCounters } from './client-stats.js';
import type { RecoveryResult } from './recovery.js';

/**
 * `connecting`: the first attempt; `open`: connected and recovered, messages go
 * out at once; `reconnecting`: waiting for or making another attempt (messages
 * are queued); `closed`: not started, `close()`d, or given up.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

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

type Listener = (payload: unknown, frame?: unknown) => void;

/**
 * The listeners of pushes and of the client's own `$` events, and the one
 * way the client runs app code. The client emits from the middle of its own
 * work (a close, a recovery), so a listener that throws must not break it:
 * the throw is counted and reported as `$error` instead. Each emit runs over a
 * copy of the set, so a listener may remove itself or add others.
 */
export class Listeners {
  private readonly _byEvent = new Map<string, Set<Listener>>();

  constructor(private readonly _counters: Pick<ClientCounters, 'listenerErrors'>) {}

  /** Adds a listener; gives the function that removes it (and the event's set, once empty). */
  _on(event: string, listener: Listener): () => void {
    let listeners = this._byEvent.get(event);
    if (listeners === undefined) {
      this._byEvent.set(event, (listeners = new Set()));
    }
    listeners.add(listener);
    return () => {
      if (listeners.delete(listener) && listeners.size === 0 && this._byEvent.get(event) === listeners) {
        this._byEvent.delete(event);
      }
    };
  }

  _emit(event: string, payload: unknown, frame?: unknown): void {
    const listeners = this._byEvent.get(event);
    if (listeners !== undefined) {
      for (const listener of [...listeners]) {
        this._guard(listener, payload, frame, event);
      }
    }
  }

  /** Runs app code; a throw is counted and reported as `$error` (never thrown into the client's own work, nor looped from `$error`). */
  _guard(run: (a: never, b: never) => unknown, a: unknown, b: unknown, event?: string): void {
    try {
      run(a as never, b as never);
    } catch (failure) {
      this._counters.listenerErrors++;
      if (event !== '$error') {
        this._emit('$error', failure);
      }
    }
  }
}
