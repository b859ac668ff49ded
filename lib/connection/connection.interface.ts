import type { WsMessageHandler } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import type { WebSocket } from 'ws';
import type { SwitchboardError } from '../errors/switchboard.error.js';
import type { InboundMessage, MessageId } from '../interfaces/envelope.interface.js';
import type { MetricsRecorder } from '../interfaces/metrics.interface.js';
import type { ResolvedGatewayBehaviour } from '../options/gateway-options.js';
import type { GatewayStats } from '../stats/gateway-stats.js';

/**
 * A gateway server as the per-connection mechanisms (outbound, acks, limits,
 * requests, heartbeat) see it: its settings, its counters, and its drain
 * count. `SwitchboardServer` is one; the mechanisms never import it, so
 * the façade can call them without an import circle.
 */
export interface GatewayContext {
  /** The gateway path as declared, normalised (`/rooms/:room`, `/`). */
  readonly path: string;
  readonly behaviour: ResolvedGatewayBehaviour;
  readonly stats: GatewayStats;
  /** Set while the gateway shuts down. */
  readonly closing: boolean;
  /** Connection-state recovery, when the application turned it on. */
  readonly sessions: SessionKeeper | undefined;
  /** A metrics exporter's hooks, when one is installed. */
  readonly metrics: MetricsRecorder | undefined;
  /** A handler started / finished, for the graceful drain. */
  handlerStarted(): void;
  handlerFinished(): void;
}

/** A server-to-client request waiting for the client's ack. */
export interface PendingRequest {
  resolve(data: unknown): void;
  reject(error: SwitchboardError): void;
  timer: NodeJS.Timeout;
}

/** Tokens left, when they were last counted, and messages refused in a row. */
export interface TokenBucket {
  tokens: number;
  time: number;
  refusedInARow: number;
}

/** A close the server asked for while handlers of the connection were still running. */
export interface PendingClose {
  readonly code: number | undefined;
  readonly reason: string | Buffer | undefined;
  readonly timer: NodeJS.Timeout;
}

/** A message waiting for the connection's running handler (ordered dispatch). */
export interface QueuedMessage {
  readonly handler: WsMessageHandler;
  readonly message: InboundMessage;
}

/** Per-connection state that only some connections need, kept off the socket's shape. */
export interface ConnectionExtras {
  /** Observable replies still running. */
  subscriptions?: Set<Subscription>;
  /** The rate limit's token bucket. */
  bucket?: TokenBucket;
  /** Server-to-client requests awaiting an ack, and the last id used. */
  requests?: { seq: number; pending: Map<number, PendingRequest> };
  /** A close that waits for this connection's running handlers. */
  pendingClose?: PendingClose;
  /** Ordered dispatch: messages waiting for the running handler. */
  queue?: QueuedMessage[];
  /** Connection-state recovery: this connection's session (dedup window, rooms to restore). */
  session?: ConnectionSession;
  /** Rooms being replayed to this connection, with the live room messages held until the replay is written. */
  catchingUp?: Map<string, HeldFrame[]>;
}

/** A live room message held for a recovering connection (a PreparedFrame; typed here by what the replay reads). */
export interface HeldFrame {
  readonly mark?: { readonly offset: number };
  writeTo(socket: WebSocket): boolean;
}

/** What a connection's session does for the per-message path (implemented in recovery/). */
export interface ConnectionSession {
  readonly id: string;
  /**
   * A request id seen before in this session (sent again after a reconnect):
   * answers it from the recorded ack, or attaches this connection to the
   * running handler's ack. True when handled; false for a new id (now
   * recorded as running).
   */
  answerRepeat(connection: Connection, id: MessageId): boolean;
  /** The one ack of an id, for repeats to come (bounded by `dedupWindow`). */
  recordAck(id: MessageId, ack: object): void;
}

/**
 * Connection-state recovery as a gateway sees it (recovery/session-keeper.ts
 * implements it): sessions opened and closed with connections, room
 * membership told to clients, `$recover` requests answered.
 */
export interface SessionKeeper {
  opened(connection: Connection): void;
  closed(connection: Connection): void;
  membershipChanged(connection: Connection, room: string, joined: boolean, confirmed: Promise<void>): void;
  recover(connection: Connection, id: MessageId, data: unknown): void;
}

/**
 * One client connection as the mechanisms see it: a `ws` WebSocket plus the
 * per-connection state fields. `SwitchboardSocket` is the one implementation;
 * every field is set once, in one order, so all sockets share one shape.
 */
export interface Connection extends WebSocket {
  readonly id: string;
  /** The gateway server this connection belongs to. */
  _server: GatewayContext | undefined;
  /** State few connections need (Observable replies, rate limit, requests, deferred close, queue). */
  _extras: ConnectionExtras | undefined;
  /** The rooms this connection is in; created on the first join. */
  _rooms: Set<string> | undefined;
  /** Writes are held until the end of this tick (see write-batching). */
  _corked: boolean;
  /** Handlers of this connection still running (a close waits for them). */
  _inflight: number;
  /** Heartbeat: bytes read from the peer at the last ping (-1: not pinged yet). */
  _bytesSeen: number;
}
