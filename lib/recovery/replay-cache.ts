import type { HistoryEntry, HistoryRead, StreamHistory, StreamPosition } from '../broker/stream-history.interface.js';
import type { HistoryLimits } from '../broker/stream-history.interface.js';

/** What one room's stream looks like from this node: entries known complete after `from`. */
interface RoomWindow {
  /** The hub's listening token when the window was built: a different one means messages may have passed by. */
  readonly token: number;
  /** The broker's reconnect count when it was built (see engineSessions). */
  readonly engineSession: number;
  epoch: string;
  /** Every entry with an offset above this is in `entries` (up to the newest seen). */
  from: number;
  readonly entries: HistoryEntry[];
}

/** A batch of recoveries of one room waiting for one read. */
interface PendingRead {
  since: number;
  readonly epoch: string;
  readonly promise: Promise<HistoryRead>;
}

/**
 * Replays without re-reading: many clients recovering one room on this node
 * cost one history read. The first recovery of a room reads the history
 * (after the recovering socket joined, so the node listens on the room);
 * from then on the node records every positioned message of the room it
 * receives, so later recoveries with a position inside that window are
 * served from memory. The window is only trusted while the node has listened
 * on the room without a break (the hub's listening token), and is bounded by
 * the room's history size.
 */
export class ReplayCache {
  private readonly windows = new Map<string, RoomWindow>();
  private readonly reads = new Map<string, PendingRead>();
  /** Positioned messages delivered while a room's first read is in flight (merged into its window after). */
  private readonly observedDuringRead = new Map<string, HistoryEntry[]>();

  constructor(
    private readonly history: StreamHistory,
    private readonly limits: HistoryLimits,
    private readonly listeningToken: (channel: string) => number | undefined,
    /**
     * Counts the broker's reconnects: a window built before a reconnect cannot vouch for the outage
     * (messages published while this node was not subscribed never reached it).
     */
    private readonly engineSessions: () => number,
  ) {}

  /** This node stopped listening on the room: its window goes. */
  forget(channel: string): void {
    this.windows.delete(channel);
  }

  private settle(channel: string, read: PendingRead): void {
    if (this.reads.get(channel) === read) {
      this.reads.delete(channel);
      this.observedDuringRead.delete(channel);
    }
  }

  /** Every entry of `channel` after `since`, or recovered:false. The caller's socket is already a member of the room. */
  async readSince(channel: string, since: StreamPosition): Promise<HistoryRead> {
    if (since.offset === 0) {
      // "Nothing seen yet", of whatever epoch (a join before the room's first message): everything the
      // current stream holds is what was missed.
      const current = await this.history.position(channel);
      if (current.offset === 0) {
        return { recovered: true, position: current, entries: [] };
      }
      since = { epoch: current.epoch, offset: 0 };
    }
    const token = this.listeningToken(channel);
    const window = this.windows.get(channel);
    if (window !== undefined && (token === undefined || window.token !== token || window.engineSession !== this.engineSessions())) {
      this.windows.delete(channel);
    } else if (window !== undefined && window.epoch === since.epoch && since.offset >= window.from) {
      const entries = window.entries.filter((entry) => entry.offset > since.offset);
      const last = window.entries.length > 0 ? window.entries[window.entries.length - 1].offset : window.from;
      return { recovered: true, position: { epoch: window.epoch, offset: Math.max(last, since.offset) }, entries };
    }
    // Recoveries arriving together share one read, from the lowest position among them.
    const pending = this.reads.get(channel);
    if (pending !== undefined && pending.epoch === since.epoch && pending.since <= since.offset) {
      return trimmed(await pending.promise, since.offset);
    }
    this.observedDuringRead.set(channel, []);
    const engineSession = this.engineSessions();
    const read: PendingRead = {
      since: since.offset,
      epoch: since.epoch,
      promise: this.history.readSince(channel, since, this.limits).then(
        (result) => {
          const observed = this.observedDuringRead.get(channel) ?? [];
          this.settle(channel, read);
          if (result.recovered && token !== undefined && this.listeningToken(channel) === token && this.engineSessions() === engineSession) {
            this.remember(channel, token, since.offset, result, observed);
          }
          return result;
        },
        (error: unknown) => {
          // A failed read (the engine is down) must not stay the answer for the room's next recoveries.
          this.settle(channel, read);
          throw error;
        },
      ),
    };
    this.reads.set(channel, read);
    return read.promise;
  }

  /** A positioned message this node delivered: it extends the room's window. */
  observe(channel: string, position: StreamPosition, payload: Buffer): void {
    this.observedDuringRead.get(channel)?.push({ offset: position.offset, payload });
    const window = this.windows.get(channel);
    if (window === undefined) {
      return;
    }
    const last = window.entries.length > 0 ? window.entries[window.entries.length - 1].offset : window.from;
    if (position.offset <= last && window.epoch === position.epoch) {
      return;
    }
    // Every node on a room's channel receives each of its messages: a gap (a broker outage) or another
    // epoch means the window can no longer vouch for completeness.
    if (window.epoch !== position.epoch || window.token !== this.listeningToken(channel) || position.offset !== last + 1) {
      this.windows.delete(channel);
      return;
    }
    window.entries.push({ offset: position.offset, payload });
    if (window.entries.length > this.limits.size) {
      const dropped = window.entries.shift()!;
      window.from = dropped.offset;
    }
  }

  private remember(channel: string, token: number, from: number, result: HistoryRead & { recovered: true }, observed: readonly HistoryEntry[]): void {
    const existing = this.windows.get(channel);
    if (existing !== undefined && existing.token === token && existing.epoch === result.position.epoch && existing.from <= from) {
      return; // A wider window is already kept.
    }
    // Entries delivered while the read was in flight may be newer than what it returned: they must
    // follow it without a gap, or no window is kept.
    const entries = [...result.entries];
    let last = Math.max(from, entries.length > 0 ? entries[entries.length - 1].offset : result.position.offset);
    for (const entry of observed) {
      if (entry.offset <= last) {
        continue;
      }
      if (entry.offset !== last + 1) {
        return;
      }
      entries.push(entry);
      last = entry.offset;
    }
    const kept = entries.slice(-this.limits.size);
    // Trimmed from the front: the window vouches only for what follows its first kept entry.
    const start = kept.length < entries.length ? kept[0].offset - 1 : from;
    this.windows.set(channel, { token, engineSession: this.engineSessions(), epoch: result.position.epoch, from: start, entries: kept });
  }

  /** How many rooms have a window here (bounded by the rooms with members on this node). */
  get size(): number {
    return this.windows.size;
  }
}

function trimmed(result: HistoryRead, since: number): HistoryRead {
  if (!result.recovered) {
    return result;
  }
  return { ...result, entries: result.entries.filter((entry) => entry.offset > since) };
}
