import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerOptions } from 'ws';
import { WebSocketServer } from 'ws';
import { BroadcastOperator, type BroadcastTarget, type ClientRef, type ExceptTarget, type RoomTarget } from '../broadcast/broadcast-operator.js';
import type { ClusterAcks, ClusterCallOptions, ClusterCount, ClusterSockets } from '../interfaces/cluster.interface.js';
import type { SessionKeeper } from '../connection/connection.interface.js';
import type { MetricsRecorder } from '../interfaces/metrics.interface.js';
import type { GlobalWsFilterLookup } from '../interfaces/global-filter.interface.js';
import { ConnectionSlots } from '../limits/connection-slots.js';
import { Heartbeat } from '../liveness/heartbeat.js';
import type { ResolvedGatewayBehaviour } from '../options/gateway-options.js';
import type { RoomLifecycleListener } from '../rooms/room-lifecycle.interface.js';
import { RoomRegistry } from '../rooms/room-registry.js';
import { GatewayStats, type GatewayStatsSnapshot } from '../stats/gateway-stats.js';
import { SwitchboardSocket } from './switchboard-socket.js';

/**
 * Events `ws` and Node emit on a server. `server.emit` with any other name
 * broadcasts to every client, where platform-ws's `server.emit` silently did
 * nothing.
 */
const SERVER_EVENTS: ReadonlySet<string> = new Set(['connection', 'error', 'headers', 'close', 'listening', 'wsClientError', 'newListener', 'removeListener']);

/** @internal What a gateway server is wired to when the adapter builds it. */
export interface GatewayWiring {
  /** Where its broadcasts go: local fan-out over the path's servers, then the broker (the hub's). */
  readonly target: BroadcastTarget<SwitchboardSocket>;
  /** Told when a room gets its first member here or loses its last (the hub's broker subscriptions). */
  readonly lifecycle: RoomLifecycleListener;
  /** Finds a global WsExceptionFilter for an exception (Nest never applies one to gateways). */
  readonly globalWsFilter: GlobalWsFilterLookup | undefined;
  /** This node's 6-byte tag, the start of every socket id it hands out. */
  readonly nodeTag: Buffer;
  /** Connection-state recovery, when the application turned it on. */
  readonly sessions?: SessionKeeper;
  /** A metrics exporter's hooks (the hub's), when one is installed. */
  readonly metrics?: MetricsRecorder;
}

/**
 * One gateway's server: a `ws` WebSocketServer in `noServer` mode (the
 * adapter's upgrade router hands it the sockets of its path), plus the
 * gateway's rooms, its broadcasting façade, resolved behaviour and
 * counters. This is what `afterInit(server)` and `@WebSocketServer()`
 * receive. The mechanisms behind it (fan-out, rooms, heartbeat, limits)
 * live in their own files and see it only through interfaces.
 */
export class SwitchboardServer extends WebSocketServer<typeof SwitchboardSocket> {
  readonly stats = new GatewayStats();
  /** @internal The gateway's rooms (scoped to its path); see `membersOf`, `roomsOf`, `roomNames`. */
  readonly rooms: RoomRegistry<SwitchboardSocket>;
  /** Set by `close()`: new upgrades to this path get HTTP 503, new messages `SERVER_SHUTTING_DOWN`. */
  closing = false;
  /** @internal Connection caps (total and per IP), handshakes in progress included. */
  readonly slots: ConnectionSlots;
  /** @internal One timer for the whole gateway. */
  readonly heartbeat: Heartbeat;
  /** @internal The HTTP server this gateway's upgrades arrive on (set by the adapter). */
  httpServer: HttpServer | undefined;
  /** @internal */
  readonly globalWsFilter: GlobalWsFilterLookup | undefined;
  /** @internal This node's tag (see the hub). */
  readonly nodeTag: Buffer;
  /** @internal Connection-state recovery (sessions, `$recover`), when turned on. */
  readonly sessions: SessionKeeper | undefined;
  /** @internal A metrics exporter's hooks, when one is installed. */
  readonly metrics: MetricsRecorder | undefined;
  /**
   * Every open socket of this gateway: `ws`'s own client set (tracking is
   * always on, so `server.clients` works as platform-ws users expect).
   */
  declare clients: Set<SwitchboardSocket>;
  private readonly target: BroadcastTarget<SwitchboardSocket>;
  /** @internal Handlers running now, across all sockets; `close()` waits for them. */
  private inflight = 0;
  private drainWaiter: (() => void) | undefined;
  /** Sockets by id, built on the first lookup by id and kept up to date from then on. */
  private socketsById: Map<string, SwitchboardSocket> | undefined;

  /** @internal Built by the adapter. */
  constructor(
    /** The gateway path as declared, normalised (`/rooms/:room`, `/`). */
    override readonly path: string,
    readonly behaviour: ResolvedGatewayBehaviour,
    wsOptions: ServerOptions,
    wiring: GatewayWiring,
  ) {
    super({ ...wsOptions, noServer: true, WebSocket: SwitchboardSocket, clientTracking: true, maxPayload: behaviour.maxPayload });
    this.target = wiring.target;
    this.globalWsFilter = wiring.globalWsFilter;
    this.nodeTag = wiring.nodeTag;
    this.sessions = wiring.sessions;
    this.metrics = wiring.metrics;
    this.rooms = new RoomRegistry<SwitchboardSocket>(wiring.lifecycle);
    this.slots = new ConnectionSlots(behaviour.maxConnections, behaviour.maxConnectionsPerIp);
    this.heartbeat = new Heartbeat(behaviour.heartbeatInterval, () => this.clients, this.stats);
    if (behaviour.heartbeatInterval > 0) {
      this.heartbeat.start();
    }
  }

  // --- Broadcasting: each call returns a new immutable operator. -----------

  /** Every client of this gateway path, on every node. */
  get broadcast(): BroadcastOperator<SwitchboardSocket> {
    return new BroadcastOperator(this.target);
  }

  to(rooms: RoomTarget): BroadcastOperator<SwitchboardSocket> {
    return this.broadcast.to(rooms);
  }

  in(rooms: RoomTarget): BroadcastOperator<SwitchboardSocket> {
    return this.broadcast.to(rooms);
  }

  toClient(clients: ClientRef | readonly ClientRef[]): BroadcastOperator<SwitchboardSocket> {
    return this.broadcast.toClient(clients);
  }

  except(excluded: ExceptTarget): BroadcastOperator<SwitchboardSocket> {
    return this.broadcast.except(excluded);
  }

  exceptClient(clients: ClientRef | readonly ClientRef[]): BroadcastOperator<SwitchboardSocket> {
    return this.broadcast.exceptClient(clients);
  }

  compress(compress = true): BroadcastOperator<SwitchboardSocket> {
    return this.broadcast.compress(compress);
  }

  get local(): BroadcastOperator<SwitchboardSocket> {
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

  // --- Across the cluster (every client of the path; narrow with to/toClient/except first). ---

  /** Every socket of this gateway path on every live node; see BroadcastOperator.fetchSockets. */
  fetchSockets(options?: ClusterCallOptions): Promise<ClusterSockets> {
    return this.broadcast.fetchSockets(options);
  }

  countSockets(options?: ClusterCallOptions): Promise<ClusterCount> {
    return this.broadcast.countSockets(options);
  }

  socketsJoin(rooms: RoomTarget, options?: ClusterCallOptions): Promise<ClusterCount> {
    return this.broadcast.socketsJoin(rooms, options);
  }

  socketsLeave(rooms: RoomTarget, options?: ClusterCallOptions): Promise<ClusterCount> {
    return this.broadcast.socketsLeave(rooms, options);
  }

  disconnectSockets(options?: ClusterCallOptions & { readonly code?: number; readonly reason?: string }): Promise<ClusterCount> {
    return this.broadcast.disconnectSockets(options);
  }

  emitWithAck<T = unknown>(event: string, data?: unknown, options?: ClusterCallOptions): Promise<ClusterAcks<T>> {
    return this.broadcast.emitWithAck<T>(event, data, options);
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
    return this.connectionById(id);
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

  getStats(): GatewayStatsSnapshot {
    return { ...this.stats, path: this.path, connections: this.clients.size, rooms: this.rooms.size };
  }

  /** @internal Recipients: the open connection with this id. */
  connectionById(id: string): SwitchboardSocket | undefined {
    if (this.socketsById === undefined) {
      this.socketsById = new Map();
      for (const socket of this.clients) {
        this.socketsById.set(socket.id, socket);
      }
    }
    return this.socketsById.get(id);
  }

  /** @internal */
  track(socket: SwitchboardSocket): void {
    this.socketsById?.set(socket.id, socket);
  }

  /** @internal */
  untrack(socket: SwitchboardSocket): void {
    this.socketsById?.delete(socket.id);
  }

  // --- Graceful drain. ------------------------------------------------------

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
}
