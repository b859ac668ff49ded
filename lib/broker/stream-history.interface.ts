/**
 * Connection-state recovery rests on this: per room, an ordered stream with
 * explicit continuity. Every broadcast to one room gets a position
 * `(epoch, offset)` assigned where the history lives, atomically with storing
 * it and publishing it to the other nodes: the in-memory bus for one process,
 * one Lua script in Redis. A client that kept its last position gets every
 * later message replayed, or hears that this is impossible (epoch changed,
 * gap older than the history): never a silent partial replay.
 */

/** A place in one room's stream. Offsets start at 1; offset 0 means "before the first message". */
export interface StreamPosition {
  /** Changes whenever the stream's continuity is lost (history expired, engine data lost). */
  readonly epoch: string;
  readonly offset: number;
}

/** One stored message: its offset and the hub's payload (targeting plus the encoded frame). */
export interface HistoryEntry {
  readonly offset: number;
  readonly payload: Buffer;
}

/** Bounds of one room's history; per room, so a busy room never evicts another room's messages. */
export interface HistoryLimits {
  /** Messages kept per room (older ones are trimmed). */
  readonly size: number;
  /** Milliseconds a message stays replayable; a room's whole stream (and its epoch) expires this long after its last message. */
  readonly ttl: number;
}

/**
 * The answer to "what came after this position?": every entry after it in
 * order, or `recovered: false` when that cannot be told completely (another
 * epoch, or entries already trimmed or expired). `position` is the stream's
 * current end either way.
 */
export type HistoryRead =
  | { readonly recovered: true; readonly position: StreamPosition; readonly entries: readonly HistoryEntry[] }
  | { readonly recovered: false; readonly position: StreamPosition };

/** What a session keeps between connections (for a client that reconnects, to any node). */
export interface SessionRecord {
  /** Rooms the session is in. */
  readonly rooms: readonly string[];
  /** Socket ids the session has had (broadcasts that excluded one of them are not replayed to it). */
  readonly socketIds: readonly string[];
}

/**
 * A broker that keeps per-room history. Brokers without it (NATS for now)
 * still broadcast; recovery then says `recovered: false`.
 *
 * The channel names are the hub's room channels (see channel.ts); the broker
 * maps them onto its engine's keys as it maps channel names.
 */
export interface StreamHistory {
  /**
   * Atomically: the stream's next offset (a new epoch if the stream has none),
   * the payload stored under it (trimmed to `limits`), and a positioned
   * payload (see `wire-format.ts`, `encodePositioned`) published on the
   * channel, so every other node listening there receives it with its
   * position. Resolves with the position. While the engine is unreachable,
   * appends wait in the broker's bounded buffer; past it they reject with a
   * `SwitchboardError` coded `BROKER_UNAVAILABLE` (counted as `publishDropped`).
   */
  append(channel: string, payload: Buffer, limits: HistoryLimits): Promise<StreamPosition>;
  /** The stream's current end (offset 0 and a fresh epoch for a stream never written). */
  position(channel: string): Promise<StreamPosition>;
  /** Every entry after `since`, in order, or `recovered: false` (see HistoryRead). Cost grows with the entries returned, not with the history size. */
  readSince(channel: string, since: StreamPosition, limits: HistoryLimits): Promise<HistoryRead>;
  /** Stores a session for `ttl` ms (overwrites). */
  saveSession(sessionId: string, record: SessionRecord, ttl: number): Promise<void>;
  /** Takes a session: returns and deletes it, so one session is recovered once. */
  takeSession(sessionId: string): Promise<SessionRecord | undefined>;
  /** How many history reads this broker has made (for the "one read per node per room" checks). */
  readonly historyReads: number;
}
