import { Inject, Injectable, type Type } from '@nestjs/common';
import type { BroadcastOperator, ClientRef, ExceptTarget, RoomTarget } from '../broadcast/broadcast-operator.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';
import { normalizePath } from '../utils/path.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import { SwitchboardHub, type ClusterStats } from '../hub/switchboard-hub.js';
import { GATEWAY_OPTIONS_METADATA } from '../internals/nest.js';
import type { Codec } from '../interfaces/codec.interface.js';
import type { GatewayStatsSnapshot } from '../stats/gateway-stats.js';
import type { ClusterCallOptions, ClusterNode, ServerSideAcks, ServerSideHandler } from '../interfaces/cluster.interface.js';


/**
 * Broadcasting from any injectable service, with the same immutable
 * operator API a gateway's `@WebSocketServer() server` offers.
 *
 * ```ts
 * constructor(private readonly broadcaster: Broadcaster) {}
 * notify(room: string, order: Order) {
 *   this.broadcaster.of(OrdersGateway).to(room).emit('order:updated', order);
 * }
 * ```
 *
 * Rooms are scoped per gateway path: `of(GatewayClass)` or `of('/path')`
 * picks the gateway. With a single gateway in the application, `to()`,
 * `emit()` and the others work directly.
 */
@Injectable()
export class Broadcaster {
  constructor(@Inject(SwitchboardHub) private readonly hub: SwitchboardHub) {}

  /**
   * The gateway by class (its `@WebSocketGateway` path) or by path. A path
   * served only by other nodes works too: the broadcast goes through the
   * broker, encoded with `codec` (JSON by default).
   */
  of(gateway: string | Type<unknown>, options: { codec?: Codec } = {}): BroadcastOperator<SwitchboardSocket> {
    return this.hub.operator(pathOf(gateway), options.codec);
  }

  to(rooms: RoomTarget): BroadcastOperator<SwitchboardSocket> {
    return this.only().to(rooms);
  }

  in(rooms: RoomTarget): BroadcastOperator<SwitchboardSocket> {
    return this.only().to(rooms);
  }

  toClient(clients: ClientRef | readonly ClientRef[]): BroadcastOperator<SwitchboardSocket> {
    return this.only().toClient(clients);
  }

  except(excluded: ExceptTarget): BroadcastOperator<SwitchboardSocket> {
    return this.only().except(excluded);
  }

  exceptClient(clients: ClientRef | readonly ClientRef[]): BroadcastOperator<SwitchboardSocket> {
    return this.only().exceptClient(clients);
  }

  /** To every client of the only gateway. */
  emit(event: string, data?: unknown): number {
    return this.only().emit(event, data);
  }

  /** Gateway paths served in this process. */
  paths(): string[] {
    return this.hub.paths();
  }

  /** Cross-node figures of this node: what it published and received, wasted receptions, the broker's counters. */
  clusterStats(): ClusterStats {
    return this.hub.stats();
  }

  /** The nodes alive now, by their heartbeats (this one first, `self: true`). */
  nodes(): ClusterNode[] {
    return this.hub.nodes();
  }

  /** Calls the `onServerSideEmit(event)` handler of every other node, fire and forget (`data` must be JSON). */
  serverSideEmit(event: string, data?: unknown): void {
    this.hub.serverSideEmit(event, data);
  }

  /**
   * Calls the `onServerSideEmit(event)` handler of every other live node and
   * resolves with their results, plus the nodes that did not answer within
   * `timeout` (never a bare timeout).
   */
  serverSideEmitWithAck<T = unknown>(event: string, data?: unknown, options: ClusterCallOptions = {}): Promise<ServerSideAcks<T>> {
    return this.hub.serverSideEmitWithAck<T>(event, data, options);
  }

  /** Handles `serverSideEmit(event)` from the other nodes; the handler's result answers `serverSideEmitWithAck`. Returns the remover. */
  onServerSideEmit(event: string, handler: ServerSideHandler): () => void {
    return this.hub.onServerSideEmit(event, handler);
  }

  /** Counters of every local gateway. */
  getStats(): GatewayStatsSnapshot[] {
    return this.hub.paths().flatMap((path) => this.hub.serversAt(path).map((server) => server.getStats()));
  }

  private only(): BroadcastOperator<SwitchboardSocket> {
    const paths = this.hub.paths();
    if (paths.length === 1) {
      return this.hub.operator(paths[0]);
    }
    throw gatewayNotFound(
      paths.length === 0
        ? 'No gateway runs in this process yet: name one with broadcaster.of(GatewayClass) or of("/path").'
        : `Several gateways run here (${paths.join(', ')}): pick one with broadcaster.of(GatewayClass) or of("/path").`,
    );
  }
}

function pathOf(gateway: string | Type<unknown>): string {
  if (typeof gateway === 'string') {
    return normalizePath(gateway);
  }
  const options = Reflect.getMetadata(GATEWAY_OPTIONS_METADATA, gateway) as { path?: string } | undefined;
  if (options === undefined) {
    throw gatewayNotFound(`${gateway.name} is not a @WebSocketGateway.`);
  }
  return normalizePath(options.path);
}

/** Thrown when the broadcaster cannot tell which gateway is meant. */
function gatewayNotFound(message: string): SwitchboardError {
  return new SwitchboardError(ErrorCode.UNKNOWN_GATEWAY, message);
}
