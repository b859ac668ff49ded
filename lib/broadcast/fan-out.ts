import type { Connection, GatewayContext } from '../connection/connection.interface.js';
import type { Targeting } from '../broker/broker.interface.js';
import { refuseBroadcastToSlowConsumer } from '../limits/slow-consumer.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { PreparedFrame } from './prepared-frame.js';

/** The local connections of one gateway server, as fan-out reads them. */
export interface Recipients<C extends Connection = Connection> extends GatewayContext {
  /** Every open connection (ws's client set). */
  readonly clients: Iterable<C>;
  readonly rooms: RoomRegistry<C>;
  /** The open connection with this id, if it is here. */
  connectionById(id: string): C | undefined;
}

/**
 * Visits each local connection a targeting selects, once, whatever the
 * overlap of its rooms and client ids, minus the excluded rooms and clients.
 * One room without exclusions (the common case) walks the room's member set
 * and allocates nothing.
 */
export function forEachRecipient<C extends Connection>(recipients: Recipients<C>, targeting: Targeting, visit: (connection: C) => void): void {
  const excluded = excludedBy(recipients, targeting);
  const { rooms, clientIds } = targeting;
  if (rooms === undefined && clientIds === undefined) {
    for (const connection of recipients.clients) {
      if (excluded === undefined || !excluded.has(connection)) {
        visit(connection);
      }
    }
    return;
  }
  if (clientIds === undefined && rooms !== undefined && rooms.length === 1) {
    // One room: its member set has no duplicates, no need to track them.
    for (const connection of recipients.rooms.membersOf(rooms[0]) ?? []) {
      if (excluded === undefined || !excluded.has(connection)) {
        visit(connection);
      }
    }
    return;
  }
  const seen = new Set<C>(excluded);
  for (const room of rooms ?? []) {
    for (const connection of recipients.rooms.membersOf(room) ?? []) {
      if (!seen.has(connection)) {
        seen.add(connection);
        visit(connection);
      }
    }
  }
  for (const id of clientIds ?? []) {
    const connection = recipients.connectionById(id);
    if (connection !== undefined && !seen.has(connection)) {
      seen.add(connection);
      visit(connection);
    }
  }
}

/**
 * Writes one prepared broadcast to every local recipient of a gateway
 * server and counts it; returns how many connections it was written to. A
 * client that does not read is skipped (or closed, by policy), so its buffer
 * cannot grow without bound while everyone else keeps receiving.
 */
export function fanOut<C extends Connection>(recipients: Recipients<C>, prepared: PreparedFrame): number {
  const { stats } = recipients;
  const { highWaterMark } = recipients.behaviour.backpressure;
  stats.broadcasts++;
  let delivered = 0;
  const mark = prepared.mark;
  forEachRecipient(recipients, prepared.packet, (connection) => {
    if (mark !== undefined) {
      // A recovering connection gets this room's live messages after its replay, in offset order.
      const held = connection._extras?.catchingUp?.get(mark.room);
      if (held !== undefined) {
        held.push(prepared);
        delivered++;
        return;
      }
    }
    if (connection.bufferedAmount >= highWaterMark && refuseBroadcastToSlowConsumer(connection, mark !== undefined)) {
      return;
    }
    if (prepared.writeTo(connection)) {
      delivered++;
    } else {
      stats.skippedDeliveries++;
    }
  });
  stats.deliveries += delivered;
  stats.messagesSent += delivered;
  stats.bytesSent += delivered * prepared.packet.frame.length;
  return delivered;
}

function excludedBy<C extends Connection>(recipients: Recipients<C>, targeting: Targeting): Set<C> | undefined {
  const { exceptRooms, exceptClientIds } = targeting;
  if (exceptRooms === undefined && exceptClientIds === undefined) {
    return undefined;
  }
  const excluded = new Set<C>();
  for (const room of exceptRooms ?? []) {
    for (const connection of recipients.rooms.membersOf(room) ?? []) {
      excluded.add(connection);
    }
  }
  for (const id of exceptClientIds ?? []) {
    const connection = recipients.connectionById(id);
    if (connection !== undefined) {
      excluded.add(connection);
    }
  }
  return excluded;
}
