import type { IncomingHttpHeaders } from 'node:http';
import type { WsMessageHandler } from '@nestjs/common';
import { WebSocket } from 'ws';
import { deferClose } from '../ack/deferred-close.js';
import type { BroadcastOperator, RoomTarget } from '../broadcast/broadcast-operator.js';
import type { ConnectionExtras, GatewayContext } from '../connection/connection.interface.js';
import { DEFAULT_CLOSE_REASONS, ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { GlobalWsFilterLookup } from '../interfaces/global-filter.interface.js';
import type { Handshake, PathParams, QueryParams } from '../interfaces/handshake.interface.js';
import { DEFAULTS } from '../options/gateway-options.js';
import { sendValue } from '../outbound/outbound.js';
import { requestClient } from '../requests/client-requests.js';
import { assertRoomName } from '../rooms/room-name.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import { brandClass } from '../utils/brand.js';
import { createSocketId } from './socket-id.js';

/**
 * @internal The server as its sockets see it: what joins, leaves and
 * broadcasts from a client need. `SwitchboardServer` is the one
 * implementation (this interface keeps the two files out of an import circle).
 */
export interface SocketServer extends GatewayContext {
  readonly rooms: RoomRegistry<SwitchboardSocket>;
  readonly broadcast: BroadcastOperator<SwitchboardSocket>;
  to(rooms: RoomTarget): BroadcastOperator<SwitchboardSocket>;
  /** Finds the app's global WsExceptionFilter (read by the exception bridge). */
  readonly globalWsFilter: GlobalWsFilterLookup | undefined;
  /** Forgets a closed socket in the by-id index. */
  untrack(socket: SwitchboardSocket): void;
}

/** Nest's disconnect hook, as the adapter calls it: `(code, reason)`. */
export type DisconnectCallback = (code: number, reason: Buffer) => void;

/** The per-connection data object users fill in; `client.data` by default. */
export type SocketData = Record<string, unknown>;

/**
 * The connected client: a real `ws` WebSocket (so `client.send(...)` and
 * every `ws` API keep working), extended with an id, a data object and the
 * facts of its handshake. `ws` builds it through its `WebSocket` server
 * option, so nothing wraps it.
 *
 * Per-connection state lives in plain fields set once here (a stable object
 * shape) and every listener is a module-level function that reads `this`, so
 * a connection costs no closures.
 */
export class SwitchboardSocket<TData extends object = SocketData> extends WebSocket {
  // Every field is initialised here, in one order, so that all sockets share one shape.
  /** Unique across processes (128 random bits, 22 base64url characters), assigned when `ws` builds the socket. */
  readonly id: string = createSocketId();
  /** @internal The gateway server this socket belongs to. */
  _server: SocketServer | undefined = undefined;
  /** @internal The handshake facts; set before Nest sees the socket. */
  _handshake: Handshake | undefined = undefined;
  /** @internal Event name to index into `_handlers`, shared by every socket of a gateway. */
  _routes: ReadonlyMap<string, number> | undefined = undefined;
  /** @internal The handlers Nest bound to this socket. */
  _handlers: readonly WsMessageHandler[] | undefined = undefined;
  /** @internal State few connections need (Observable replies, rate limit, requests); created on first use. */
  _extras: ConnectionExtras | undefined = undefined;
  /** @internal Heartbeat: bytes read from the peer at the last ping (-1: not pinged yet). */
  _bytesSeen = -1;
  /** @internal Nest's disconnect callback(s), called from our own 'close' listener. */
  _onDisconnect: DisconnectCallback | DisconnectCallback[] | undefined = undefined;
  /** @internal Writes are held until the end of this tick (see write-batching). */
  _corked = false;
  /** @internal Handlers of this connection still running (a close waits for them). */
  _inflight = 0;
  /** @internal The rooms this socket is in; created on the first join. */
  _rooms: Set<string> | undefined = undefined;
  private _data: TData | undefined = undefined;

  /**
   * Per-connection data: whatever the application stores about this client
   * (the principal after handshake authentication, for example). Created on
   * first access, so idle connections that never use it pay nothing.
   */
  get data(): TData {
    return (this._data ??= {} as TData);
  }

  set data(value: TData) {
    this._data = value;
  }

  /** The upgrade request's facts, parsed once. */
  get handshake(): Handshake {
    return this._handshake as Handshake;
  }

  /** Parameters of a pattern path: `/rooms/:room` gives `{ room: '42' }` for `/rooms/42`. */
  get params(): PathParams {
    return this.handshake.params;
  }

  /** The query string of the upgrade URL. */
  get query(): QueryParams {
    return this.handshake.query;
  }

  /** The path the client connected to, without the query string. */
  get path(): string {
    return this.handshake.path;
  }

  get headers(): IncomingHttpHeaders {
    return this.handshake.headers;
  }

  get remoteAddress(): string | undefined {
    return this.handshake.remoteAddress;
  }

  /**
   * Sends `{ event, data }` to this client through the gateway's codec.
   * `compress` overrides permessage-deflate for this one message (when the
   * client negotiated it; `ws` still skips messages under the threshold).
   * Returns false when nothing was sent (closed, or a slow consumer).
   */
  sendEvent(event: string, data?: unknown, options: { compress?: boolean } = {}): boolean {
    return sendValue(this as SwitchboardSocket, { event, data }, options.compress);
  }

  /**
   * `ws`'s close, with two promises kept. The reason defaults to the stable
   * code of the close code (`MESSAGE_TOO_BIG` for the 1009 `ws` sends by
   * itself, `SERVER_SHUTTING_DOWN` for 1001...). And while handlers of this
   * connection still run, the close waits for them (at most `drainTimeout`),
   * reading no further frames, so every message already dispatched gets its
   * ack: this holds for the closes the library makes (rate limit, slow
   * consumer, oversized frame, invalid-message policy) and for a handler's
   * own `client.close()`. `terminate()` never waits.
   */
  override close(code?: number, reason?: string | Buffer): void {
    const withReason = reason === undefined && code !== undefined ? DEFAULT_CLOSE_REASONS.get(code) : reason;
    if (!deferClose(this as SwitchboardSocket, code, withReason)) {
      super.close(code, withReason);
    }
  }

  // --- Rooms. ---------------------------------------------------------------

  /**
   * Joins one room or several. Local broadcasts reach the client at once;
   * the returned promise resolves when the broker has confirmed the rooms'
   * subscriptions, so that a broadcast from any other node after that
   * reaches it too (`await client.join(room)` before telling others to
   * publish). It never rejects. Joining a room twice is a no-op, and so is
   * joining after the client disconnected.
   */
  join(rooms: string | readonly string[]): Promise<void> {
    const server = this.serverOrThrow();
    const list = typeof rooms === 'string' ? [rooms] : rooms;
    list.forEach(assertRoomName);
    if (this.readyState !== WebSocket.OPEN) {
      // A handler that joins after an await may find its client gone: a closed socket has left its rooms
      // for good (its close already ran), and joining again would keep it, and the room's channel, forever.
      return RESOLVED;
    }
    const sessions = server.sessions;
    const confirmations = list.map((room) => {
      const wasIn = this._rooms?.has(room) === true;
      const confirmed = server.rooms.join(this as SwitchboardSocket, room);
      if (sessions !== undefined && !wasIn) {
        sessions.membershipChanged(this as SwitchboardSocket, room, true, confirmed);
      }
      return confirmed;
    });
    return confirmations.length === 1 ? confirmations[0] : Promise.all(confirmations).then(() => undefined);
  }

  /** Leaves a room (a no-op if not in it). A closed socket leaves all its rooms. */
  leave(room: string): void {
    assertRoomName(room);
    const server = this._server;
    if (server === undefined || this._rooms?.has(room) !== true) {
      return;
    }
    server.rooms.leave(this as SwitchboardSocket, room);
    server.sessions?.membershipChanged(this as SwitchboardSocket, room, false, RESOLVED);
  }

  /** The rooms this client is in, read-only. */
  get rooms(): ReadonlySet<string> {
    return this._rooms ?? NO_ROOMS;
  }

  /** Members of these rooms except this client: `client.to('lobby').emit('typing', nick)`. */
  to(rooms: RoomTarget): BroadcastOperator<SwitchboardSocket> {
    return this.serverOrThrow().to(rooms).exceptClient(this.id);
  }

  /** Every client of the gateway except this one. */
  get broadcast(): BroadcastOperator<SwitchboardSocket> {
    return this.serverOrThrow().broadcast.exceptClient(this.id);
  }

  // --- Server-to-client requests. -------------------------------------------

  /**
   * Sends `{ event, data, id }` and resolves with the `data` of the client's
   * ack. Rejects with a `SwitchboardError` coded `REQUEST_TIMEOUT`,
   * `DISCONNECTED` or `REQUEST_REJECTED`.
   */
  request<T = unknown>(event: string, data?: unknown, options: { timeout?: number } = {}): Promise<T> {
    return requestClient(this as SwitchboardSocket, event, data, options.timeout ?? DEFAULTS.requestTimeout) as Promise<T>;
  }

  private serverOrThrow(): SocketServer {
    if (this._server === undefined) {
      throw new SwitchboardError(ErrorCode.UNKNOWN_GATEWAY, 'This socket is not attached to a gateway yet.');
    }
    return this._server;
  }
}

const NO_ROOMS: ReadonlySet<string> = new Set<string>();
const RESOLVED: Promise<void> = Promise.resolve();

// One identity for the ESM and CJS copies of this class (see utils/brand).
brandClass(SwitchboardSocket, 'SwitchboardSocket');
