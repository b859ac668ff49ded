import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { WsMessageHandler } from '@nestjs/common';
import type { ServerOptions } from 'ws';
import { WebSocketServer } from 'ws';
import { BroadcastOperator, type ClientRef, type RoomTarget } from '../broadcast/broadcast-operator.js';
import type { PreparedFrame } from '../broadcast/prepared-frame.js';
import type { BroadcastPacket } from '../broker/broker.interface.js';
import type { SwitchboardHub } from '../hub/switchboard-hub.js';
import type { ResolvedGatewayBehaviour } from '../options/gateway-options.js';
import type { RoomLifecycleListener } from '../rooms/room-lifecycle.interface.js';
import { RoomRegistry } from '../rooms/room-registry.js';
import { HandshakeAuth, type ProviderResolver } from '../auth/handshake-auth.js';
import type { GlobalWsFilterLookup } from '../filters/global-ws-filters.js';
import { ConnectionSlots } from '../limits/connection-slots.js';
import { handleSlowConsumer } from '../limits/slow-consumer.js';
import { Heartbeat } from '../liveness/heartbeat.js';
import { GatewayStats, type GatewayStatsSnapshot } from '../stats/gateway-stats.js';
import { SwitchboardSocket } from './switchboard-socket.js';

/**
 * Events `ws` and Node emit on a server. `server.emit` with any other name
 * broadcasts to every client, where platform-ws's `server.emit` silently did
 * nothing.
 */
const SERVER_EVENTS: ReadonlySet<string> = new Set(['connection', 'error', 'headers', 'close', 'listening', 'wsClientError', 'newListener', 'removeListener']);

/**
 * One gateway's server: a `ws` WebSocketServer in `noServer` mode (the
 * adapter's upgrade router hands it the sockets of its path), plus the
 * gateway's rooms, broadcasting, resolved behaviour and counters. This is
 * what `afterInit(server)` and `@WebSocketServer()` receive.
 */
export class SwitchboardServer extends WebSocketServer<typeof SwitchboardSocket> implements RoomLifecycleListener {
  readonly stats = new GatewayStats();
  /** The gateway's rooms (scoped to its path). */
  readonly rooms: RoomRegistry = new RoomRegistry(this);
  /** Set by `close()`: new upgrades to this path get HTTP 503, new messages `SERVER_SHUTTING_DOWN`. */
  closing = false;
  /** @internal Connection caps (total and per IP), handshakes in progress included. */
  readonly slots: ConnectionSlots;
  /** @internal Handshake authentication, when configured. */
  readonly auth: HandshakeAuth | undefined;
  /** @internal One timer for the whole gateway. */
  readonly heartbeat: Heartbeat;
  /** @internal Finds a global WsExceptionFilter for an exception (set by the adapter). */
  globalWsFilter: GlobalWsFilterLookup | undefined;
  /** @internal The HTTP server this gateway's upgrades arrive on (set by the adapter). */
  httpServer: HttpServer | undefined;
  /** @internal Handlers running now, across all sockets; `close()` waits for them. */
  private inflight = 0;
  private drainWaiter: (() => void) | undefined;
  /**
   * Every open socket of this gateway: `ws`'s own client set (tracking is
   * always on, so `server.clients` works as platform-ws users expect).
   */
  declare clients: Set<SwitchboardSocket>;
  /** Sockets by id, built on the first lookup by id and kept up to date from then on. */
  private socketsById: Map<string, SwitchboardSocket> | undefined;
  /**
   * Dispatch tables built from the handler lists Nest binds; every socket
   * of the gateway shares one, so a connection stores only a reference.
   */
  private readonly dispatchTables: Array<{ events: readonly unknown[]; routes: ReadonlyMap<string, number> }> = [];

  constructor(
    /** The gateway path as declared, normalised (`/rooms/:room`, `/`). */
    readonly route: string,
    readonly behaviour: ResolvedGatewayBehaviour,
    wsOptions: ServerOptions,
    /** @internal */
    readonly hub: SwitchboardHub,
    resolveProvider?: ProviderResolver,
  ) {
    super({
      ...wsOptions,
      noServer: true,
      WebSocket: SwitchboardSocket,
      clientTracking: true,
      maxPayload: behaviour.maxPayload,
      handleProtocols: withTokenProtocol(behaviour.auth?.token?.protocol, wsOptions.handleProtocols),
    });
    this.slots = new ConnectionSlots(behaviour.maxConnections, behaviour.maxConnectionsPerIp);
    this.auth = behaviour.auth !== undefined ? new HandshakeAuth(behaviour.auth, resolveProvider) : undefined;
    this.heartbeat = new Heartbeat(behaviour.heartbeatInterval, () => this.clients, this.stats);
    if (behaviour.heartbeatInterval > 0) {
      this.heartbeat.start();
    }
  }

  // --- Broadcasting: each call returns a new immutable operator. -----------

  /** Every client of this gateway path, on every node. */
  get broadcast(): BroadcastOperator {
    return this.hub.operator(this.route, this.behaviour.codec);
  }

  to(rooms: RoomTarget): BroadcastOperator {
    return this.broadcast.to(rooms);
  }

  in(rooms: RoomTarget): BroadcastOperator {
    return this.broadcast.to(rooms);
  }

  toClient(clients: ClientRef | readonly ClientRef[]): BroadcastOperator {
    return this.broadcast.toClient(clients);
  }

  except(excluded: RoomTarget | { readonly id: string } | readonly { readonly id: string }[]): BroadcastOperator {
    return this.broadcast.except(excluded);
  }

  exceptClient(clients: ClientRef | readonly ClientRef[]): BroadcastOperator {
    return this.broadcast.exceptClient(clients);
  }

  compress(compress = true): BroadcastOperator {
    return this.broadcast.compress(compress);
  }

  get local(): BroadcastOperator {
    return this.broadcast.local;
  }

  /**
   * `server.emit('news', data)` sends to every client of the gateway. The
   * names `ws` and Node use for server events (`connection`, `error`,
   * `headers`, `close`, `listening`, `wsClientError`, `newListener`,
   * `removeListener`) keep their EventEmitter meaning.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (typeof event !== 'string' || SERVER_EVENTS.has(event)) {
      return super.emit(event, ...args);
    }
    this.broadcast.emit(event, args[0]);
    return true;
  }

  // --- Introspection. -------------------------------------------------------

  /**
   * The address the gateway's upgrades arrive on: its own port's, or the
   * application's (`ws` throws here in `noServer` mode; platform-ws users
   * read it to find a standalone server's free port).
   */
  override address(): AddressInfo | string | null {
    return this.httpServer?.address() ?? super.address();
  }

  /** A connected client of this gateway, in this process. */
  clientById(id: string): SwitchboardSocket | undefined {
    return this.byId().get(id);
  }

  /** Local members of a room. */
  membersOf(room: string): SwitchboardSocket[] {
    return [...(this.rooms.membersOf(room) ?? [])];
  }

  /** Rooms of a client. */
  roomsOf(client: SwitchboardSocket): ReadonlySet<string> {
    return this.rooms.roomsOf(client);
  }

  /** Names of the rooms that have members here. */
  roomNames(): string[] {
    return [...this.rooms.names()];
  }

  get connectionCount(): number {
    return this.clients.size;
  }

  getStats(): GatewayStatsSnapshot {
    return { ...this.stats, path: this.route, connections: this.clients.size, rooms: this.rooms.size };
  }

  /** @internal A handler started. */
  handlerStarted(): void {
    this.inflight++;
  }

  /** @internal A handler finished (its answer, if any, is sent). */
  handlerFinished(): void {
    if (--this.inflight === 0 && this.drainWaiter !== undefined) {
      this.drainWaiter();
    }
  }

  /** @internal Resolves when no handler runs any more, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    if (this.inflight === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drainWaiter = () => {
        this.drainWaiter = undefined;
        done();
      };
    });
  }

  // --- Internal wiring. -----------------------------------------------------

  private byId(): Map<string, SwitchboardSocket> {
    if (this.socketsById === undefined) {
      this.socketsById = new Map();
      for (const socket of this.clients) {
        this.socketsById.set(socket.id, socket);
      }
    }
    return this.socketsById;
  }

  /** @internal */
  track(socket: SwitchboardSocket): void {
    this.socketsById?.set(socket.id, socket);
  }

  /** @internal */
  untrack(socket: SwitchboardSocket): void {
    this.socketsById?.delete(socket.id);
  }

  /** @internal Writes a prepared broadcast to every local recipient; returns how many. */
  deliver(prepared: PreparedFrame): number {
    this.stats.broadcasts++;
    const { highWaterMark } = this.behaviour.backpressure;
    let delivered = 0;
    this.forEachRecipient(prepared.packet, (socket) => {
      // A client that does not read is skipped (or closed), so its buffer
      // cannot grow without bound while everyone else keeps receiving.
      if (socket.bufferedAmount >= highWaterMark && handleSlowConsumer(socket, true)) {
        return;
      }
      if (prepared.writeTo(socket)) {
        delivered++;
      } else {
        this.stats.skippedDeliveries++;
      }
    });
    this.stats.deliveries += delivered;
    return delivered;
  }

  /**
   * @internal Visits each local socket a packet targets, once, whatever the
   * overlap of its rooms and client ids, minus the excluded rooms and clients.
   */
  forEachRecipient(packet: Omit<BroadcastPacket, 'frame'>, visit: (socket: SwitchboardSocket) => void): void {
    const excluded = this.excludedBy(packet);
    const { rooms, clientIds } = packet;
    if (rooms === undefined && clientIds === undefined) {
      for (const socket of this.clients) {
        if (excluded === undefined || !excluded.has(socket)) {
          visit(socket);
        }
      }
      return;
    }
    if (clientIds === undefined && rooms !== undefined && rooms.length === 1) {
      // One room: its member set has no duplicates, no need to track them.
      for (const socket of this.rooms.membersOf(rooms[0]) ?? []) {
        if (excluded === undefined || !excluded.has(socket)) {
          visit(socket);
        }
      }
      return;
    }
    const seen = new Set<SwitchboardSocket>(excluded);
    for (const room of rooms ?? []) {
      for (const socket of this.rooms.membersOf(room) ?? []) {
        if (!seen.has(socket)) {
          seen.add(socket);
          visit(socket);
        }
      }
    }
    for (const id of clientIds ?? []) {
      const socket = this.byId().get(id);
      if (socket !== undefined && !seen.has(socket)) {
        seen.add(socket);
        visit(socket);
      }
    }
  }

  private excludedBy(packet: Omit<BroadcastPacket, 'frame'>): Set<SwitchboardSocket> | undefined {
    const { exceptRooms, exceptClientIds } = packet;
    if (exceptRooms === undefined && exceptClientIds === undefined) {
      return undefined;
    }
    const excluded = new Set<SwitchboardSocket>();
    for (const room of exceptRooms ?? []) {
      for (const socket of this.rooms.membersOf(room) ?? []) {
        excluded.add(socket);
      }
    }
    for (const id of exceptClientIds ?? []) {
      const socket = this.byId().get(id);
      if (socket !== undefined) {
        excluded.add(socket);
      }
    }
    return excluded;
  }

  /** @internal RoomLifecycleListener: rooms drive the broker's subscriptions. */
  roomCreated(room: string): void {
    this.hub.roomCreated(this.route, room);
  }

  /** @internal */
  roomDeleted(room: string): void {
    this.hub.roomDeleted(this.route, room);
  }

  /** @internal */
  joined(): void {}

  /** @internal */
  left(): void {}

  /**
   * @internal Returns the shared event-to-index table for a handler list.
   * Nest builds a fresh list per connection, always in the same order, so
   * the comparison is a few pointer-equal string checks.
   */
  routesFor(handlers: readonly WsMessageHandler<unknown>[]): ReadonlyMap<string, number> {
    for (const table of this.dispatchTables) {
      if (sameEvents(table.events, handlers)) {
        return table.routes;
      }
    }
    const events = handlers.map((handler) => handler.message);
    const routes = new Map<string, number>();
    // The last handler wins when an event is declared twice, as in `WsAdapter`'s Map.
    events.forEach((event, index) => routes.set(String(event), index));
    this.dispatchTables.push({ events, routes });
    return routes;
  }
}

/**
 * Browsers can only send a token in `Sec-WebSocket-Protocol`, and they
 * refuse the connection unless the server picks one of the offered
 * protocols: with a token marker configured, the marker is picked.
 */
function withTokenProtocol(marker: string | undefined, handleProtocols: ServerOptions['handleProtocols']): ServerOptions['handleProtocols'] {
  if (marker === undefined) {
    return handleProtocols;
  }
  return (protocols, request) => (protocols.has(marker) ? marker : (handleProtocols?.(protocols, request) ?? false));
}

function sameEvents(events: readonly unknown[], handlers: readonly WsMessageHandler<unknown>[]): boolean {
  if (events.length !== handlers.length) {
    return false;
  }
  for (let i = 0; i < events.length; i++) {
    if (events[i] !== handlers[i].message) {
      return false;
    }
  }
  return true;
}
