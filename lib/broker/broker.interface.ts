import type { StreamHistory } from './stream-history.interface.js';

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
 * A broadcast: already encoded once (`frame`), plus the targeting every node
 * applies to its own sockets.
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

/** Called by a broker for every message that arrives on a channel this node subscribed to. */
export type BrokerReceiver = (channel: string, payload: Buffer) => void;

/** What a broker counts; the hub adds them to its own figures. */
export interface BrokerStats {
  /** Payloads handed to the engine. */
  published: number;
  /** Payloads dropped because the engine was unreachable and the buffer was full (or the engine refused them). */
  publishDropped: number;
  /** Payloads waiting for the engine now (bounded by the broker's buffer). */
  publishBuffered: number;
  /** Payloads received on subscribed channels. */
  received: number;
  /** Channels subscribed now. */
  subscriptions: number;
  /** Times the connection to the engine was lost and re-established. */
  reconnects: number;
  /** Subscribe commands sent to restore subscriptions after reconnects (each covers a batch of channels). */
  resubscribeCommands: number;
}

/**
 * The transport between the nodes of a cluster: named channels carrying
 * opaque payloads. Routing (which channels a broadcast goes to, and what a
 * node does with what it receives) is the hub's, the same for every broker,
 * so a broker only moves bytes, and every broker passes one conformance
 * suite (test/conformance/broker.suite.ts):
 *
 * - `subscribe` resolves once the engine has confirmed every channel: a
 *   payload published on one of them by any node after that arrives here.
 *   It never rejects; a channel the engine could not take is retried (and
 *   restored after every reconnect).
 * - `publish` never throws and never blocks. While the engine is
 *   unreachable, payloads wait in a bounded buffer; past it they are dropped
 *   and counted (`publishDropped`).
 * - A node may receive its own payloads back (Redis PUBLISH does that); the
 *   hub recognises and drops them.
 */
export interface Broker {
  /** Connects; `receive` is called for every payload on a subscribed channel. */
  attach(receive: BrokerReceiver): Promise<void>;
  /** Disconnects and forgets every subscription. */
  detach(): Promise<void>;
  subscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channels: readonly string[]): Promise<void>;
  publish(channel: string, payload: Buffer): void;
  stats(): BrokerStats;
  /**
   * Optional: false when the broker knows no other node can receive (an
   * in-memory broker alone on its bus); the hub then skips building payloads
   * for other nodes. A networked broker leaves it out.
   */
  hasPeers?(): boolean;
  /** Optional: per-room history where the broker's engine keeps it (connection-state recovery); brokers without it cannot recover. */
  readonly history?: StreamHistory;
}
