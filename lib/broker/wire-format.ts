import type { BroadcastPacket } from './broker.interface.js';

/** The first byte of every payload the hub sends between nodes: what follows. */
export const enum PayloadKind {
  Broadcast = 1,
}

/** A broadcast as it crosses nodes: the packet, who sent it, and every channel it was published on. */
export interface RoutedBroadcast {
  /** The sender's node tag (a node drops its own payloads when the engine echoes them). */
  readonly origin: string;
  /**
   * Every channel this payload was published on, in order. A node that
   * listens on several of them gets several copies and delivers only the
   * copy of the first one it listens on, so a client in two targeted rooms
   * gets the message once, across nodes too.
   */
  readonly channels: readonly string[];
  readonly packet: BroadcastPacket;
}

interface Header {
  o: string;
  ch: readonly string[];
  p: string;
  r?: readonly string[];
  c?: readonly string[];
  xr?: readonly string[];
  xc?: readonly string[];
  b: 0 | 1;
  z: 0 | 1;
}

/**
 * `[kind: u8][header length: u32 BE][header: UTF-8 JSON][frame bytes]`: the
 * frame, already encoded for the clients, travels as is, so a receiving node
 * writes it without re-encoding.
 */
export function encodeBroadcast(routed: RoutedBroadcast): Buffer {
  const { packet } = routed;
  const header: Header = {
    o: routed.origin,
    ch: routed.channels,
    p: packet.path,
    r: packet.rooms,
    c: packet.clientIds,
    xr: packet.exceptRooms,
    xc: packet.exceptClientIds,
    b: packet.binary ? 1 : 0,
    z: packet.compress ? 1 : 0,
  };
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = PayloadKind.Broadcast;
  prefix.writeUInt32BE(json.length, 1);
  return Buffer.concat([prefix, json, packet.frame]);
}

/** Reads a payload from another node; undefined for anything malformed (counted and dropped by the hub). */
export function decodeBroadcast(payload: Buffer): RoutedBroadcast | undefined {
  if (payload.length < 5 || payload[0] !== PayloadKind.Broadcast) {
    return undefined;
  }
  const headerLength = payload.readUInt32BE(1);
  if (5 + headerLength > payload.length) {
    return undefined;
  }
  let header: Header;
  try {
    header = JSON.parse(payload.subarray(5, 5 + headerLength).toString()) as Header;
  } catch {
    return undefined;
  }
  if (typeof header.o !== 'string' || typeof header.p !== 'string' || !Array.isArray(header.ch)) {
    return undefined;
  }
  return {
    origin: header.o,
    channels: header.ch,
    packet: {
      path: header.p,
      rooms: header.r,
      clientIds: header.c,
      exceptRooms: header.xr,
      exceptClientIds: header.xc,
      binary: header.b === 1,
      compress: header.z === 1,
      frame: payload.subarray(5 + headerLength),
    },
  };
}
