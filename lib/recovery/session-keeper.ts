import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { withPosition } from '../broadcast/positioned-frame.js';
import { roomChannel } from '../broker/channel.js';
import type { HistoryRead, SessionRecord, StreamHistory, StreamPosition } from '../broker/stream-history.interface.js';
import { decodeBroadcast } from '../broker/wire-format.js';
import type { Connection, ConnectionSession, HeldFrame, SessionKeeper as SessionKeeperContract } from '../connection/connection.interface.js';
import { CloseCode } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { MessageId } from '../interfaces/envelope.interface.js';
import type { ResolvedRecoveryOptions } from '../interfaces/recovery.interface.js';
import { tcpSocketOf } from '../internals/ws.js';
import { sendErrorAck, sendOkAck, sendValue } from '../outbound/outbound.js';
import type { SwitchboardHub } from '../hub/switchboard-hub.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';
import { ReplayCache } from './replay-cache.js';

const logger = new Logger('SwitchboardRecovery');

/** Rooms one `$recover` may name (a client in more rooms recovers the first ones and hears `recovered: false` for none of the rest: they are simply not restored). */
const MAX_RECOVER_ROOMS = 1000;

/** One session on this node: its dedup window, the connection it has now, what it will restore. */
class NodeSession implements ConnectionSession {
  /** Recorded acks by request id, oldest first (a Map keeps insertion order), at most `dedupWindow`. */
  acks = new Map<MessageId, object>();
  /** Ids whose handler runs now: never evicted (bounded by the handlers in flight), so a repeat waits, never runs twice. */
  running = new Set<MessageId>();
  /** Connections waiting for the ack of a running id (a repeat sent on a new connection). */
  waiters = new Map<MessageId, Connection[]>();
  socketIds: string[];
  /** Rooms `$recover` is restoring now: their joins are not announced as `$joined` (the answer covers them). */
  readonly restoring = new Set<string>();
  /** When a disconnected session is forgotten here. */
  expiresAt = Infinity;
  saveScheduled = false;
  /** When the session was last saved in the store (open sessions are saved again before their ttl runs out). */
  savedAt = 0;
  /** Taken over by a recovering connection: its own close must not save it again. */
  handedOver = false;

  constructor(
    readonly id: string,
    public connection: Connection | undefined,
    private readonly dedupWindow: number,
  ) {
    this.socketIds = connection === undefined ? [] : [connection.id];
  }

  answerRepeat(connection: Connection, id: MessageId): boolean {
    if (this.running.has(id)) {
      const waiting = this.waiters.get(id) ?? [];
      if (waiting.length >= MAX_WAITERS) {
        // The same id sent again and again while it runs: answered, not queued without bound.
        sendErrorAck(connection, id, { code: ErrorCode.RATE_LIMITED, message: 'This request is already running.' });
        return true;
      }
      waiting.push(connection);
      this.waiters.set(id, waiting);
      return true;
    }
    const recorded = this.acks.get(id);
    if (recorded !== undefined) {
      sendValue(connection, recorded);
      return true;
    }
    this.running.add(id);
    return false;
  }

  recordAck(id: MessageId, ack: object): void {
    if (!this.running.delete(id)) {
      return; // Not a request of this session's window (an @Ack() handler's second call, say).
    }
    this.acks.set(id, ack);
    if (this.acks.size > this.dedupWindow) {
      this.acks.delete(this.acks.keys().next().value as MessageId);
    }
    const waiting = this.waiters.get(id);
    if (waiting !== undefined) {
      this.waiters.delete(id);
      for (const connection of waiting) {
        sendValue(connection, ack);
      }
    }
  }
}

/** Connections that may wait for one running id (repeats past it are answered RATE_LIMITED). */
const MAX_WAITERS = 16;

/** The per-room answer of a `$recover`. */
interface RoomRecovery {
  recovered: boolean;
  epoch: string;
  offset: number;
  replayed?: number;
}

/**
 * Connection-state recovery, one per hub: sessions, room membership told to
 * clients, and `$recover`.
 *
 * - Every connection opens a session: `$session` (its id and how long it
 *   survives a disconnect) is the first frame the client gets. The session's
 *   rooms and socket ids are saved in the broker's history (Redis: survives
 *   a crash of this node) at every change; its dedup window stays on this node.
 * - A join is told as `$joined` with the room's current position (read after
 *   the broker confirmed the subscription: every later message reaches the
 *   client live), a leave as `$left`.
 * - `$recover` with a previous session id and the client's last positions
 *   restores the rooms on the new connection, replays each room's missed
 *   messages in order (live ones are held meanwhile and follow the replay),
 *   skipping those that excluded the client, and answers per room
 *   `recovered: true` or `false` (never a silent partial replay).
 */
export class SessionKeeper implements SessionKeeperContract {
  private readonly sessions = new Map<string, NodeSession>();
  private readonly cache: ReplayCache | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: SwitchboardHub,
    private readonly options: ResolvedRecoveryOptions,
  ) {
    const history = hub.history;
    const reconnects = (): number => hub.broker.stats().reconnects;
    this.cache = history === undefined ? undefined : new ReplayCache(history, hub.limits!, (channel) => hub.listeningToken(channel), reconnects);
    if (this.cache !== undefined) {
      const cache = this.cache;
      hub.observePositioned(
        (channel, position, payload) => cache.observe(channel, position, payload),
        (channel) => cache.forget(channel),
      );
    }
    this.reconnectsSeen = history === undefined ? 0 : reconnects();
  }

  /** The broker's reconnect count at the last sweep (a reconnect means room messages may have been missed live). */
  private reconnectsSeen: number;

  private get history(): StreamHistory | undefined {
    return this.hub.history;
  }

  opened(connection: Connection): void {
    const session = new NodeSession(randomBytes(18).toString('base64url'), connection, this.options.dedupWindow);
    this.sessions.set(session.id, session);
    (connection._extras ??= {}).session = session;
    sendValue(connection, { event: '$session', data: { sid: session.id, ttl: this.options.sessionTtl } });
    this.save(session, connection);
    this.sweepLater();
  }

  closed(connection: Connection): void {
    const session = connection._extras?.session as NodeSession | undefined;
    if (session === undefined || session.connection !== connection || session.handedOver) {
      return;
    }
    session.connection = undefined;
    session.expiresAt = Date.now() + this.options.sessionTtl;
    // Saved with the rooms it has now (the close leaves them right after this).
    this.saveNow(session, [...(connection._rooms ?? [])]);
  }

  membershipChanged(connection: Connection, room: string, joined: boolean, confirmed: Promise<void>): void {
    const session = connection._extras?.session as NodeSession | undefined;
    if (session === undefined) {
      return;
    }
    this.save(session, connection);
    if (session.restoring.has(room)) {
      return;
    }
    if (!joined) {
      sendValue(connection, { event: '$left', data: { room } });
      return;
    }
    const path = (connection._server as { path: string }).path;
    void confirmed
      .then(() => this.positionOf(roomChannel(path, room)))
      .then(
        (position) => {
          if (connection.readyState === WebSocket.OPEN && connection._rooms?.has(room) === true) {
            sendValue(connection, { event: '$joined', data: { room, epoch: position.epoch, offset: position.offset } });
          }
        },
        (error: unknown) => logger.warn(`The position of room ${room} could not be read: ${(error as Error).message}`),
      );
  }

  recover(connection: Connection, id: MessageId, data: unknown): void {
    const request = readRecoverRequest(data);
    if (request === undefined) {
      sendErrorAck(connection, id, { code: ErrorCode.BAD_REQUEST, message: '$recover needs { sid: string, rooms: { [room]: { epoch: string, offset: number } } }.' });
      return;
    }
    this.restore(connection as SwitchboardSocket, request).then(
      (answer) => sendOkAck(connection, id, answer),
      (error: unknown) => {
        logger.warn(`A session could not be recovered: ${(error as Error).message}`);
        sendErrorAck(connection, id, { code: ErrorCode.INTERNAL, message: 'The session could not be recovered.' });
      },
    );
  }

  private async restore(socket: SwitchboardSocket, request: RecoverRequest): Promise<{ rooms: Record<string, RoomRecovery>; session?: 'expired' }> {
    const current = socket._extras?.session as NodeSession | undefined;
    if (current === undefined || request.sid === current.id) {
      return { rooms: {}, session: 'expired' };
    }
    const local = this.sessions.get(request.sid);
    if (local !== undefined && (local.handedOver || local.connection?.readyState === WebSocket.OPEN)) {
      // Recovered already, or still open (a session is recovered once, by one connection).
      return { rooms: {}, session: 'expired' };
    }
    // A store that fails to answer is an error, not "expired": the session stays there for a retry.
    const stored = this.history === undefined ? undefined : await this.history.takeSession(request.sid);
    const record: SessionRecord | undefined = stored ?? (local === undefined ? undefined : { rooms: [], socketIds: local.socketIds });
    if (record === undefined || socket.readyState !== WebSocket.OPEN) {
      return { rooms: {}, session: 'expired' };
    }
    if (local !== undefined) {
      // Same node: the new connection takes over the dedup window, so repeated request ids get their acks.
      local.handedOver = true;
      this.sessions.delete(local.id);
      current.acks = local.acks;
      current.running = local.running;
      current.waiters = local.waiters;
    }
    current.socketIds = [...record.socketIds.slice(-16), socket.id];
    const path = (socket._server as { path: string }).path;
    // No prototype: a room named "__proto__" is an entry like any other.
    const rooms = Object.create(null) as Record<string, RoomRecovery>;
    const restoring = record.rooms.slice(0, MAX_RECOVER_ROOMS);
    restoring.forEach((room) => current.restoring.add(room));
    try {
      await Promise.all(
        restoring.map(async (room) => {
          const answer = await this.restoreRoom(socket, path, room, request.rooms.get(room), record);
          if (answer !== undefined) {
            rooms[room] = answer;
            this.hub.metrics?.recovery(path, answer.recovered, answer.replayed ?? 0);
          }
        }),
      );
    } finally {
      restoring.forEach((room) => current.restoring.delete(room));
    }
    this.save(current, socket);
    return { rooms };
  }

  /** Joins one room again and replays what the client missed there; live messages wait meanwhile. */
  /** Undefined when the connection closed meanwhile (nothing to answer, and no room to join for a closed socket). */
  private async restoreRoom(socket: SwitchboardSocket, path: string, room: string, since: StreamPosition | undefined, record: SessionRecord): Promise<RoomRecovery | undefined> {
    const channel = roomChannel(path, room);
    const held: HeldFrame[] = [];
    if (socket.readyState !== WebSocket.OPEN) {
      return undefined;
    }
    const catchingUp = ((socket._extras ??= {}).catchingUp ??= new Map());
    catchingUp.set(room, held);
    try {
      await socket.join(room);
      let read: HistoryRead;
      if (since === undefined || this.cache === undefined) {
        read = { recovered: false, position: await this.positionOf(channel) };
      } else {
        read = await this.cache.readSince(channel, since);
      }
      if (socket.readyState !== WebSocket.OPEN) {
        return undefined;
      }
      let last = read.position.offset;
      let replayed = 0;
      if (read.recovered && since !== undefined) {
        last = since.offset;
        for (const entry of read.entries) {
          if (entry.offset <= last) {
            continue;
          }
          last = entry.offset;
          const frame = replayFrame(entry.payload, room, { epoch: read.position.epoch, offset: entry.offset }, record);
          if (frame !== undefined && socket.readyState === WebSocket.OPEN) {
            if (socket.bufferedAmount >= socket._server!.behaviour.backpressure.highWaterMark) {
              // A long replay waits for the client to read, like any sender should: written in one go it
              // would push the connection past its slow-consumer limit, and the answer would never go out.
              await drained(socket, socket._server!.behaviour.closeTimeout);
            }
            socket.send(frame, { binary: false });
            replayed++;
          }
        }
        last = Math.max(last, read.position.offset);
      }
      // The live messages that arrived meanwhile, minus those the replay covered.
      for (const frame of held) {
        const offset = frame.mark?.offset ?? 0;
        if (offset > last) {
          frame.writeTo(socket);
          last = offset;
        }
      }
      return read.recovered ? { recovered: true, epoch: read.position.epoch, offset: last, replayed } : { recovered: false, epoch: read.position.epoch, offset: last };
    } finally {
      catchingUp.delete(room);
      if (catchingUp.size === 0 && socket._extras !== undefined) {
        socket._extras.catchingUp = undefined;
      }
    }
  }

  private brokerReconnected(): boolean {
    if (this.history === undefined) {
      return false;
    }
    const reconnects = this.hub.broker.stats().reconnects;
    const changed = reconnects !== this.reconnectsSeen;
    this.reconnectsSeen = reconnects;
    return changed;
  }

  private positionOf(channel: string): Promise<StreamPosition> {
    return this.history === undefined ? Promise.resolve({ epoch: 'none', offset: 0 }) : this.history.position(channel);
  }

  /** Saves the session's rooms once per tick, however many joins that tick made. */
  private save(session: NodeSession, connection: Connection): void {
    if (this.history === undefined || session.saveScheduled) {
      return;
    }
    session.saveScheduled = true;
    queueMicrotask(() => {
      session.saveScheduled = false;
      if (session.connection === connection) {
        this.saveNow(session, [...(connection._rooms ?? [])]);
      }
    });
  }

  private saveNow(session: NodeSession, rooms: string[]): void {
    session.savedAt = Date.now();
    this.history?.saveSession(session.id, { rooms, socketIds: session.socketIds }, this.options.sessionTtl).catch((error: unknown) => {
      logger.warn(`Session ${session.id} could not be saved: ${(error as Error).message}`);
    });
  }

  /** Forgets disconnected sessions past their ttl, at most once a second and only while there are any. */
  private sweepLater(): void {
    if (this.sweepTimer !== undefined) {
      return;
    }
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined;
      const now = Date.now();
      const brokerReconnected = this.brokerReconnected();
      for (const [id, session] of this.sessions) {
        const connection = session.connection;
        if (connection === undefined) {
          if (session.expiresAt <= now) {
            this.sessions.delete(id);
          }
          continue;
        }
        if (brokerReconnected && connection._rooms !== undefined && connection._rooms.size > 0) {
          // Room messages published while the broker was away never reached this node: the client cannot
          // tell (its offsets may have holes), so it reconnects and recovers them.
          connection.close(CloseCode.SERVICE_RESTART);
        } else if (now - session.savedAt > this.options.sessionTtl / 3) {
          // An open session is saved again well before its ttl, so a crash of this node never outlives it.
          this.saveNow(session, [...(connection._rooms ?? [])]);
        }
      }
      if (this.sessions.size > 0) {
        this.sweepLater();
      }
    }, 1000);
    this.sweepTimer.unref();
  }
}

/** Resolves when the connection's TCP buffer drained, it closed, or after `timeout` ms (a client that does not read is then a slow consumer). */
function drained(socket: Connection, timeout: number): Promise<void> {
  const tcp = tcpSocketOf(socket);
  if (tcp === undefined) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      tcp.off('drain', done);
      tcp.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, timeout);
    tcp.once('drain', done);
    tcp.once('close', done);
  });
}

interface RecoverRequest {
  readonly sid: string;
  readonly rooms: Map<string, StreamPosition>;
}

/** Checks a `$recover` body from the client; undefined when malformed. */
function readRecoverRequest(data: unknown): RecoverRequest | undefined {
  if (typeof data !== 'object' || data === null) {
    return undefined;
  }
  const { sid, rooms } = data as { sid?: unknown; rooms?: unknown };
  if (typeof sid !== 'string' || sid.length === 0 || sid.length > 64 || (rooms !== undefined && (typeof rooms !== 'object' || rooms === null || Array.isArray(rooms)))) {
    return undefined;
  }
  const positions = new Map<string, StreamPosition>();
  // Object.entries reads own keys only: "__proto__" is just a room name here.
  for (const [room, position] of Object.entries((rooms ?? {}) as Record<string, unknown>).slice(0, MAX_RECOVER_ROOMS)) {
    const { epoch, offset } = (position ?? {}) as { epoch?: unknown; offset?: unknown };
    if (typeof epoch === 'string' && epoch.length <= 64 && typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) {
      positions.set(room, { epoch, offset });
    }
  }
  return { sid, rooms: positions };
}

/** A stored message as the recovering client gets it, or undefined when it excluded this session (or cannot be read). */
function replayFrame(payload: Buffer, room: string, position: StreamPosition, record: SessionRecord): Buffer | undefined {
  const routed = decodeBroadcast(payload);
  if (routed === undefined) {
    return undefined;
  }
  const { exceptClientIds, exceptRooms } = routed.packet;
  if (exceptClientIds?.some((id) => record.socketIds.includes(id)) === true || exceptRooms?.some((except) => record.rooms.includes(except)) === true) {
    return undefined;
  }
  return withPosition(routed.packet.frame, room, position);
}
