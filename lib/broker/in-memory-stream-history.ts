import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { HistoryEntry, HistoryLimits, HistoryRead, SessionRecord, StreamHistory, StreamPosition } from './stream-history.interface.js';
import { encodePositioned } from './wire-format.js';

/** A random epoch: 8 base64url characters (48 bits), so a forgotten stream never comes back under its old epoch. */
export function randomEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** How many streams and sessions each operation checks for expiry (the round-robin sweep). */
const SWEEP_STEPS = 8;

/** What a node's view of the history needs from its broker. */
export interface InMemoryHistoryNode {
  /** Whether the broker is attached: an append before attach or after detach is refused. */
  attached(): boolean;
  /** Hands a payload to the other brokers on the bus (counted as the broker's publish). */
  publish(channel: string, payload: Buffer): void;
  /** Counts a refused append in the broker's `publishDropped`. */
  dropped(): void;
}

/**
 * One room's stream: offsets `first..end` are kept, in a ring of at most
 * `capacity` slots (slot of offset o: `(o - base) % capacity`, so a young
 * stream's arrays grow one slot at a time instead of being allocated at
 * full size for rooms that only ever see a few messages).
 */
class Stream {
  end = 0;
  /** The oldest kept offset; `first > end` when nothing is kept. */
  first = 1;
  private base = 1;
  private payloads: Buffer[] = [];
  private times: number[] = [];

  constructor(
    readonly epoch: string,
    private capacity: number,
    /** When the last entry was appended, and the ttl it came with: the stream is forgotten ttl after it. */
    public lastAppend: number,
    public ttl: number,
  ) {}

  expired(now: number): boolean {
    return now - this.lastAppend >= this.ttl;
  }

  push(payload: Buffer, size: number, now: number): number {
    if (size !== this.capacity) {
      this.resize(size);
    }
    const offset = ++this.end;
    const slot = (offset - this.base) % this.capacity;
    this.payloads[slot] = payload;
    this.times[slot] = now;
    if (offset - this.first + 1 > this.capacity) {
      this.first = offset - this.capacity + 1;
    }
    return offset;
  }

  /** The entries `from..end`, or undefined when one of them is no longer kept or older than `ttl`. */
  slice(from: number, ttl: number, now: number): HistoryEntry[] | undefined {
    if (from < this.first) {
      return undefined;
    }
    const entries: HistoryEntry[] = [];
    for (let offset = from; offset <= this.end; offset++) {
      const slot = (offset - this.base) % this.capacity;
      if (now - this.times[slot] >= ttl) {
        return undefined;
      }
      entries.push({ offset, payload: this.payloads[slot] });
    }
    return entries;
  }

  /** Another `size` for this room: keep the newest entries that fit, in a ring of the new size. */
  private resize(size: number): void {
    const first = Math.max(this.first, this.end - size + 1);
    const payloads: Buffer[] = [];
    const times: number[] = [];
    for (let offset = first; offset <= this.end; offset++) {
      const slot = (offset - this.base) % this.capacity;
      payloads.push(this.payloads[slot]);
      times.push(this.times[slot]);
    }
    this.payloads = payloads;
    this.times = times;
    this.capacity = size;
    this.first = first;
    this.base = first;
  }
}

interface StoredSession {
  readonly record: SessionRecord;
  readonly expiresAt: number;
}

/**
 * The stream history of an in-process cluster: one per {@link InMemoryBus},
 * shared by every broker on it (the bus is where the history lives, as the
 * Redis server is for Redis brokers); each broker gets its own view
 * (`forNode`), which publishes appends to the other brokers.
 *
 * Memory is bounded: per room at most `limits.size` entries (each an
 * unpooled copy of exactly its payload's bytes); a room's stream is
 * forgotten `ttl` after its last append, a session `ttl` after it was saved.
 * Expiry is checked lazily on access, and every operation also checks the
 * next few streams and sessions (a round-robin sweep), so expired ones do not
 * pile up: what is held is what was written within the last ttl, plus what
 * expired since the sweep last passed.
 */
export class InMemoryStreamHistory {
  private readonly streams = new Map<string, Stream>();
  private readonly sessions = new Map<string, StoredSession>();
  private streamCursor: Iterator<[string, Stream]> | undefined;
  private sessionCursor: Iterator<[string, StoredSession]> | undefined;

  /** @param now The clock (milliseconds), for tests. */
  constructor(private readonly now: () => number = Date.now) {}

  /** A broker's view of this history. */
  forNode(node: InMemoryHistoryNode): StreamHistory {
    return new NodeHistory(this, node);
  }

  /** Streams held now (expired ones included until the sweep or an access forgets them), for tests. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Sessions held now (likewise), for tests. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** @internal */
  append(channel: string, payload: Buffer, limits: HistoryLimits): StreamPosition {
    const now = this.now();
    this.sweep(now);
    let stream = this.streams.get(channel);
    if (stream === undefined || stream.expired(now)) {
      // Untouched for its ttl: forgotten, and what comes next is a new continuity.
      stream = new Stream(randomEpoch(), limits.size, now, limits.ttl);
      this.streams.set(channel, stream);
    }
    stream.lastAppend = now;
    stream.ttl = limits.ttl;
    // An exact, unpooled copy: the caller may reuse its buffer, and a pooled slice would pin a whole 8 KiB slab.
    const copy = Buffer.allocUnsafeSlow(payload.length);
    payload.copy(copy);
    const offset = stream.push(copy, limits.size, now);
    return { epoch: stream.epoch, offset };
  }

  /** @internal */
  position(channel: string): StreamPosition {
    const now = this.now();
    this.sweep(now);
    const stream = this.live(channel, now);
    return stream === undefined ? { epoch: randomEpoch(), offset: 0 } : { epoch: stream.epoch, offset: stream.end };
  }

  /** @internal */
  readSince(channel: string, since: StreamPosition, limits: HistoryLimits): HistoryRead {
    const now = this.now();
    this.sweep(now);
    const stream = this.live(channel, now);
    if (stream === undefined) {
      return { recovered: false, position: { epoch: randomEpoch(), offset: 0 } };
    }
    const position = { epoch: stream.epoch, offset: stream.end };
    if (since.epoch !== stream.epoch || !Number.isSafeInteger(since.offset) || since.offset < 0 || since.offset > stream.end) {
      return { recovered: false, position };
    }
    if (since.offset === stream.end) {
      return { recovered: true, position, entries: [] };
    }
    // More missing than a room keeps: some are gone, whatever the ring holds.
    if (stream.end - since.offset > limits.size) {
      return { recovered: false, position };
    }
    const entries = stream.slice(since.offset + 1, limits.ttl, now);
    return entries === undefined ? { recovered: false, position } : { recovered: true, position, entries };
  }

  /** @internal */
  saveSession(sessionId: string, record: SessionRecord, ttl: number): void {
    const now = this.now();
    this.sweep(now);
    // A copy: the caller's arrays may change after this.
    this.sessions.set(sessionId, { record: { rooms: [...record.rooms], socketIds: [...record.socketIds] }, expiresAt: now + ttl });
  }

  /** @internal */
  takeSession(sessionId: string): SessionRecord | undefined {
    const now = this.now();
    this.sweep(now);
    const stored = this.sessions.get(sessionId);
    if (stored === undefined) {
      return undefined;
    }
    this.sessions.delete(sessionId);
    return stored.expiresAt > now ? stored.record : undefined;
  }

  /** The stream of a channel unless it expired (then it is forgotten now). */
  private live(channel: string, now: number): Stream | undefined {
    const stream = this.streams.get(channel);
    if (stream !== undefined && stream.expired(now)) {
      this.streams.delete(channel);
      return undefined;
    }
    return stream;
  }

  /** Checks the next few streams and sessions, resuming where the last call stopped (Map iterators survive deletes). */
  private sweep(now: number): void {
    for (let i = 0; i < SWEEP_STEPS; i++) {
      this.streamCursor ??= this.streams.entries();
      const next = this.streamCursor.next();
      if (next.done === true) {
        this.streamCursor = undefined;
        break;
      }
      if (next.value[1].expired(now)) {
        this.streams.delete(next.value[0]);
      }
    }
    for (let i = 0; i < SWEEP_STEPS; i++) {
      this.sessionCursor ??= this.sessions.entries();
      const next = this.sessionCursor.next();
      if (next.done === true) {
        this.sessionCursor = undefined;
        break;
      }
      if (next.value[1].expiresAt <= now) {
        this.sessions.delete(next.value[0]);
      }
    }
  }
}

/** One broker's view: the shared store, its own read count, and its own bus publisher. */
class NodeHistory implements StreamHistory {
  private reads = 0;

  constructor(
    private readonly store: InMemoryStreamHistory,
    private readonly node: InMemoryHistoryNode,
  ) {}

  get historyReads(): number {
    return this.reads;
  }

  append(channel: string, payload: Buffer, limits: HistoryLimits): Promise<StreamPosition> {
    try {
      checkLimits(limits);
      if (!this.node.attached()) {
        // Nobody to publish to (and no buffer in process): refused, as a network broker refuses past its buffer.
        this.node.dropped();
        return Promise.reject(new SwitchboardError(ErrorCode.BROKER_UNAVAILABLE, 'The in-memory broker is not attached; the message was not appended'));
      }
      const position = this.store.append(channel, payload, limits);
      // To the other brokers only: the appending node has the position from the promise and delivers locally itself.
      this.node.publish(channel, encodePositioned(position, payload));
      return Promise.resolve(position);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  position(channel: string): Promise<StreamPosition> {
    return Promise.resolve(this.store.position(channel));
  }

  readSince(channel: string, since: StreamPosition, limits: HistoryLimits): Promise<HistoryRead> {
    this.reads++;
    try {
      checkLimits(limits);
      return Promise.resolve(this.store.readSince(channel, since, limits));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  saveSession(sessionId: string, record: SessionRecord, ttl: number): Promise<void> {
    this.store.saveSession(sessionId, record, ttl);
    return Promise.resolve();
  }

  takeSession(sessionId: string): Promise<SessionRecord | undefined> {
    return Promise.resolve(this.store.takeSession(sessionId));
  }
}

/** Limits are the caller's configuration: a size or ttl that cannot bound anything is a programming error. */
export function checkLimits(limits: HistoryLimits): void {
  if (!Number.isSafeInteger(limits.size) || limits.size < 1 || !Number.isFinite(limits.ttl) || limits.ttl <= 0) {
    throw new RangeError(`History limits need a whole size >= 1 and a ttl > 0 (got size ${limits.size}, ttl ${limits.ttl})`);
  }
}
