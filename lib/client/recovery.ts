import type { ClientCounters } from './client-stats.js';
import { isObject } from './is-object.js';

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

/** Bounds against a server that sends without end. */
const MAX_ROOMS = 10_000;

/**
 * The client's half of connection-state recovery. The server tells the room
 * memberships (`$joined`, `$left`, each with the room's stream position) and
 * the session (`$session`); every positioned room push moves the room's
 * position on, and a push at or before it is a duplicate (a replay overlaps
 * what was live) and is dropped. After a reconnect the first frame is
 * `$recover` with the session and the positions; its ack says, per room,
 * from where the server replayed or that it could not. It holds state only:
 * the client sends the frame and decides what follows (re-sent requests,
 * `rejoin`, the queue), since those belong to other parts.
 */
export class Recovery {
  _rooms = new Map<string, RoomPosition>();
  /** Rooms joined on this connection before it was recovered: theirs is the new connection's membership already. */
  private readonly _fresh = new Set<string>();
  /** The session id of the current connection. */
  _sid?: string;
  /** The session to resume at the next open. */
  private _resume?: string;

  constructor(private readonly _counters: Pick<ClientCounters, 'duplicates'>) {}

  /** A connection opened: the session to resume on it, if any (a `$recover` is then due before anything else). */
  _opened(): string | undefined {
    this._fresh.clear();
    return this._resume;
  }

  /** The `$recover` frame: where the client was in each room. */
  _ask(sid: string, id: number): string {
    return JSON.stringify({ event: '$recover', id, data: { sid, rooms: Object.fromEntries(this._rooms) } });
  }

  /**
   * The session to resume next: this connection's, unless it dropped before its
   * `$recover` was answered. Then the older one still holds the rooms (or the
   * server says it expired: an explicit loss, never a silent one).
   */
  _keepSession(): void {
    if (this._resume === undefined) {
      this._resume = this._sid;
    }
    this._sid = undefined;
  }

  /** `$session`, `$joined` or `$left`; false for any other event or a malformed one. `ready`: the connection is recovered. */
  _onSystem(event: string, data: Record<string, unknown>, ready: boolean): boolean {
    const { room, epoch, offset, sid } = data;
    if (event === '$session' && typeof sid === 'string') {
      this._sid = sid;
    } else if (event === '$joined' && typeof room === 'string' && typeof epoch === 'string' && typeof offset === 'number') {
      if (this._rooms.size < MAX_ROOMS || this._rooms.has(room)) {
        this._rooms.set(room, { epoch, offset });
        if (!ready) {
          this._fresh.add(room);
        }
      }
    } else if (event === '$left' && typeof room === 'string') {
      this._rooms.delete(room);
      this._fresh.delete(room);
    } else {
      return false;
    }
    return true;
  }

  /** A push: true (counted) when it is a positioned room message at or before the room's position; else the position moves on. */
  _isDuplicate(frame: Record<string, unknown>): boolean {
    const { room, epoch, offset } = frame;
    if (typeof room === 'string' && typeof epoch === 'string' && typeof offset === 'number') {
      const last = this._rooms.get(room);
      if (last !== undefined) {
        if (last.epoch === epoch && offset <= last.offset) {
          this._counters.duplicates++;
          return true;
        }
        this._rooms.set(room, { epoch, offset });
      }
    }
    return false;
  }

  /**
   * The `$recover` ack (undefined: no session, or no answer): the rooms as
   * the server restored them, plus the rooms joined meanwhile; every other
   * room the client was in is reported lost. Gives the `$recovery` payload
   * and the lost rooms (for `rejoin`).
   */
  _recovered(answer: unknown): [RecoveryResult, string[]] {
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
    return [{ resumed, rooms: Object.fromEntries(results) }, lost];
  }
}
