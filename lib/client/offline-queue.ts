import type { ClientCounters } from './client-stats.js';
import type { SwitchboardClientOptions } from './client-options.js';

/** One frame waiting for a connection; `_request` is set for a request, whose own timeout bounds it instead of a TTL. */
export interface QueuedFrame<R> {
  readonly _frame: string;
  /** `Date.now()` after which an emit is not worth sending; Infinity for a request. */
  readonly _expires: number;
  readonly _request?: R;
}

type QueueOptions = Required<Pick<SwitchboardClientOptions, 'maxQueued' | 'dropPolicy'>>;

/**
 * What the app sends while there is no connection (or before it is
 * recovered), sent in order once there is. Bounded by `maxQueued`: a full
 * queue first drops emits past their `queueTtl`, then the oldest frame or the
 * new one (`dropPolicy`), so an app offline for long cannot grow it without
 * end. It is generic in the request it carries so that it knows nothing of
 * requests: dropping one is handed back (`onDrop`), and the requests remove
 * their own entries when they settle.
 */
export class OfflineQueue<R> {
  _entries: Array<QueuedFrame<R>> = [];

  constructor(
    private readonly _options: QueueOptions,
    private readonly _counters: Pick<ClientCounters, 'queued' | 'dropped' | 'expired'>,
    /** A queued request the full queue dropped: it is to fail with `QUEUE_FULL`. */
    private readonly _onDrop: (request: R) => void,
  ) {}

  /** Queues a frame; false when the full queue dropped this one instead. */
  _add(entry: QueuedFrame<R>): boolean {
    const { maxQueued, dropPolicy } = this._options;
    if (this._entries.length >= maxQueued) {
      // Only a full queue looks at the clock: expired emits are otherwise dropped when it is drained.
      this._prune();
    }
    if (this._entries.length >= maxQueued) {
      this._counters.dropped++;
      const oldest = dropPolicy === 'oldest' ? this._entries.shift() : undefined;
      if (oldest === undefined) {
        return false;
      }
      if (oldest._request !== undefined) {
        this._onDrop(oldest._request);
      }
    }
    this._entries.push(entry);
    this._counters.queued++;
    return true;
  }

  /** Takes out a request's entry (it settled while queued: timed out, aborted). */
  _remove(request: R): void {
    const index = this._entries.findIndex((entry) => entry._request === request);
    if (index !== -1) {
      this._entries.splice(index, 1);
    }
  }

  /** Empties the queue and gives what is still worth sending, in order. */
  _drain(): Array<QueuedFrame<R>> {
    this._prune();
    const entries = this._entries;
    this._entries = [];
    return entries;
  }

  /** Drops (and counts) the emits past their TTL; requests, with `_expires` Infinity, stay. */
  private _prune(): void {
    const now = Date.now();
    const kept = this._entries.filter((entry) => entry._expires > now);
    this._counters.expired += this._entries.length - kept.length;
    this._entries = kept;
  }
}
