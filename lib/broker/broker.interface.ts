/**
 * Who a broadcast is for: rooms and client ids to reach, rooms and client
 * ids to skip. Every node applies it to its own connections.
 */
export interface Targeting {
  /** Rooms to deliver to; with no `clientIds` either, `undefined` means every client of the gateway path. */
  readonly rooms?: readonly string[];
  /** Client ids to deliver to, in addition to the rooms. */
  readonly clientIds?: readonly string[];
  /** Members of these rooms are skipped. */
  readonly exceptRooms?: readonly string[];
  /** These clients are skipped. */
  readonly exceptClientIds?: readonly string[];
}

/**
 * A broadcast as it crosses processes: already encoded once (`frame`), plus
 * the targeting every node applies to its own sockets. Plain data, so a
 * broker can serialise it however it likes.
 */
export interface BroadcastPacket extends Targeting {
  /** The gateway path the broadcast belongs to (rooms are scoped per gateway path). */
  readonly path: string;
  /** The encoded message, the same bytes for every recipient. */
  readonly frame: Buffer;
  /** Binary (opcode 2) or text (opcode 1) frame. */
  readonly binary: boolean;
  /** Ask for permessage-deflate where the client negotiated it. */
  readonly compress: boolean;
}

/** What the hub gives a broker: its identity and the way into local delivery. */
export interface BrokerNode {
  /** Unique per process; a broker drops packets that come back to their origin. */
  readonly nodeId: string;
  /** Delivers a packet that came from another node to this node's sockets. */
  deliver(packet: BroadcastPacket): void;
}

/**
 * The seam between rooms and the transport that carries broadcasts between
 * processes. The hub calls it:
 * - `publish` for every broadcast that is not `local()` (after delivering
 *   to its own sockets), so the broker only ever sends to *other* nodes;
 * - `subscribe` / `unsubscribe` as rooms are created and deleted here, so a
 *   broker can route a room's traffic only to nodes that have its members.
 *   Calls are balanced and never repeated: the hub counts references.
 *   `room === undefined` stands for gateway-wide traffic (no room, several
 *   rooms, or client ids), which every node with the gateway receives.
 *
 * The default is {@link InMemoryBroker}. Every broker passes the same
 * conformance suite (test/conformance/broker.suite.ts), so rooms and the
 * adapter never change for scale-out.
 */
export interface Broker {
  /** Called once when the hub starts; may connect. */
  attach(node: BrokerNode): Promise<void> | void;
  publish(packet: BroadcastPacket): void;
  subscribe(path: string, room: string | undefined): void;
  unsubscribe(path: string, room: string | undefined): void;
  /** Called once when the hub stops; releases connections. */
  detach(node: BrokerNode): Promise<void> | void;
}
