import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { BroadcastPacket, Targeting } from '../broker/broker.interface.js';
import type { Codec } from '../interfaces/codec.interface.js';
import type { Connection } from '../connection/connection.interface.js';
import type { ClusterAcks, ClusterCallOptions, ClusterCount, ClusterOperations, ClusterSockets } from '../interfaces/cluster.interface.js';
import { assertRoomName } from '../rooms/room-name.js';

/** A room name, or several. */
export type RoomTarget = string | readonly string[];

/** A client, by socket or by id. */
export type ClientRef = string | { readonly id: string };

/** What `except(...)` takes: room names, or clients (sockets). */
export type ExceptTarget = RoomTarget | { readonly id: string } | readonly { readonly id: string }[];

/** Where an operator sends: one gateway path, in this process and (unless local) beyond. */
export interface BroadcastTarget<C = Connection> {
  readonly path: string;
  readonly codec: Codec;
  /** Delivers to local connections and, unless `local`, publishes to the other nodes. Returns local deliveries. */
  publish(packet: BroadcastPacket, local: boolean): number;
  /** Local connections a targeting selects, without sending. */
  select(targeting: Targeting): C[];
  /** Operations across every live node (the hub's). */
  readonly cluster: ClusterOperations;
}

/** What an operator has been told so far: the targeting, compression, and whether to skip the broker. */
interface OperatorState extends Targeting {
  readonly compress: boolean;
  readonly local: boolean;
}

const EVERYONE: OperatorState = { compress: false, local: false };

/**
 * Immutable targeting for a broadcast: every method returns a new operator,
 * so a shared `server` can never be left half-configured between calls.
 *
 * ```ts
 * server.to('lobby').except(client).emit('message', body);
 * server.to(['a', 'b']).emit('tick', n);        // once per client, even in both rooms
 * server.toClient(id).emit('private', body);
 * ```
 */
export class BroadcastOperator<C = Connection> {
  constructor(
    private readonly target: BroadcastTarget<C>,
    private readonly targeting: OperatorState = EVERYONE,
  ) {}

  /** Adds rooms to the recipients. With no `to`/`toClient`, a broadcast goes to every client. */
  to(rooms: RoomTarget): BroadcastOperator<C> {
    return this.with({ rooms: union(this.targeting.rooms, roomList(rooms)) });
  }

  /** Alias of {@link to}, as in socket.io. */
  in(rooms: RoomTarget): BroadcastOperator<C> {
    return this.to(rooms);
  }

  /** Adds clients (sockets or ids) to the recipients. */
  toClient(clients: ClientRef | readonly ClientRef[]): BroadcastOperator<C> {
    return this.with({ clientIds: union(this.targeting.clientIds, clientIdList(clients)) });
  }

  /** Skips members of these rooms (strings), or these clients (sockets). */
  except(excluded: ExceptTarget): BroadcastOperator<C> {
    const items: readonly unknown[] = Array.isArray(excluded) ? excluded : [excluded];
    // Strings are rooms, anything else a client; a mixed list skips both kinds.
    const rooms = items.filter((item): item is string => typeof item === 'string');
    const clients = items.filter((item) => typeof item !== 'string') as Array<{ readonly id: string }>;
    let operator: BroadcastOperator<C> = this;
    if (rooms.length > 0 || clients.length === 0) {
      operator = operator.with({ exceptRooms: union(this.targeting.exceptRooms, roomList(rooms.length > 0 ? rooms : (excluded as RoomTarget))) });
    }
    return clients.length > 0 ? operator.exceptClient(clients) : operator;
  }

  /** Skips these clients, by socket or id. */
  exceptClient(clients: ClientRef | readonly ClientRef[]): BroadcastOperator<C> {
    return this.with({ exceptClientIds: union(this.targeting.exceptClientIds, clientIdList(clients)) });
  }

  /** Asks for permessage-deflate where clients negotiated it (off by default for broadcasts). */
  compress(compress = true): BroadcastOperator<C> {
    return this.with({ compress });
  }

  /** Delivers in this process only; the broker is not used. */
  get local(): BroadcastOperator<C> {
    return this.with({ local: true });
  }

  /**
   * Encodes `{ event, data }` once and writes the same bytes to every
   * recipient; returns how many local clients it was written to.
   */
  emit(event: string, data?: unknown): number {
    if (typeof event !== 'string' || event.length === 0) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, 'A broadcast needs a non-empty event name.');
    }
    const encoded = this.target.codec.encode({ event, data });
    const frame = typeof encoded === 'string' ? Buffer.from(encoded) : encoded;
    const { rooms, clientIds, exceptRooms, exceptClientIds, compress, local } = this.targeting;
    const packet: BroadcastPacket = { path: this.target.path, rooms, clientIds, exceptRooms, exceptClientIds, frame, binary: this.target.codec.binary, compress };
    return this.target.publish(packet, local);
  }

  /** The local clients this operator would reach. */
  sockets(): C[] {
    return this.target.select(this.targeting);
  }

  /** How many local clients this operator would reach. */
  count(): number {
    return this.sockets().length;
  }

  // --- Across the cluster: every live node answers, or is named in missingNodes. ---

  /**
   * The sockets this operator selects on every node (ids, rooms, `data`,
   * handshake facts), with the nodes that did not answer in time. With
   * `local`, this node only.
   */
  fetchSockets(options: ClusterCallOptions = {}): Promise<ClusterSockets> {
    return this.target.cluster.fetchSockets(this.targeting, this.targeting.local, options);
  }

  /** How many sockets this operator selects on every node; cheaper than fetchSockets. */
  countSockets(options: ClusterCallOptions = {}): Promise<ClusterCount> {
    return this.target.cluster.countSockets(this.targeting, this.targeting.local, options);
  }

  /** Makes the selected sockets, wherever they are, join rooms; resolves once each node's broker confirmed them. */
  socketsJoin(rooms: RoomTarget, options: ClusterCallOptions = {}): Promise<ClusterCount> {
    return this.target.cluster.socketsJoin(this.targeting, roomList(rooms), this.targeting.local, options);
  }

  /** Makes the selected sockets, wherever they are, leave rooms. */
  socketsLeave(rooms: RoomTarget, options: ClusterCallOptions = {}): Promise<ClusterCount> {
    return this.target.cluster.socketsLeave(this.targeting, roomList(rooms), this.targeting.local, options);
  }

  /** Closes the selected sockets, wherever they are (code 1000 by default; their acks still go out, see `close`). */
  disconnectSockets(options: ClusterCallOptions & { readonly code?: number; readonly reason?: string } = {}): Promise<ClusterCount> {
    const { code, reason } = options;
    if (code !== undefined && !(code === 1000 || (code >= 3000 && code <= 4999))) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, 'A close code for disconnectSockets is 1000 or 3000-4999.');
    }
    return this.target.cluster.disconnectSockets(this.targeting, { code, reason }, this.targeting.local, options);
  }

  /**
   * A server-to-client request to every selected client on every node:
   * resolves, at the latest after `timeout`, with one answer per client
   * reached (its ack's data, or an error such as `REQUEST_TIMEOUT`) and the
   * nodes that did not answer. Never a bare timeout.
   */
  emitWithAck<T = unknown>(event: string, data?: unknown, options: ClusterCallOptions = {}): Promise<ClusterAcks<T>> {
    return this.target.cluster.emitWithAck(this.targeting, event, data, this.targeting.local, options) as Promise<ClusterAcks<T>>;
  }

  private with(change: Partial<OperatorState>): BroadcastOperator<C> {
    return new BroadcastOperator(this.target, { ...this.targeting, ...change });
  }
}

function roomList(rooms: RoomTarget): readonly string[] {
  // Room names often come from a client's message: anything but a string or an array is INVALID_ROOM, not a TypeError.
  const list: readonly unknown[] = typeof rooms === 'string' ? [rooms] : Array.isArray(rooms) ? rooms : [rooms];
  list.forEach(assertRoomName);
  return list as readonly string[];
}

function clientIdList(clients: ClientRef | readonly ClientRef[]): readonly string[] {
  const list = Array.isArray(clients) ? (clients as readonly ClientRef[]) : [clients as ClientRef];
  return list.map((client) => {
    const id = typeof client === 'string' ? client : client?.id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, 'A client is a socket or a non-empty id string.');
    }
    return id;
  });
}

function union(existing: readonly string[] | undefined, added: readonly string[]): readonly string[] {
  if (existing === undefined) {
    return [...new Set(added)];
  }
  return [...new Set([...existing, ...added])];
}
