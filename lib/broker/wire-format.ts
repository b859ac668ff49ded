import type { BroadcastPacket } from './broker.interface.js';
import type { StreamPosition } from './stream-history.interface.js';

/** The first byte of every payload the hub sends between nodes: what follows. */
export const enum PayloadKind {
  Broadcast = 1,
  /** Cluster control: heartbeats, cluster-wide requests and their replies (see cluster/control-message.ts). */
  Control = 2,
  /** A payload with its stream position, as the stream history publishes it (see encodePositioned). */
  Positioned = 3,
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
  /** When the sender published it (ms since the epoch; 0 if unknown): the receiver's publish-to-receive lag. */
  readonly sentAt: number;
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
  t?: number;
}

/**
 * `[kind: u8][header length: u32 BE][header: UTF-8 JSON][frame bytes]`: the
 * frame, already encoded for the clients, travels as is, so a receiving node
 * writes it without re-encoding.
 */
/** The header's first key is the origin (`{"o":...`): a hub recognises its own echoes by these bytes. */
export function encodeBroadcast(routed: Omit<RoutedBroadcast, 'sentAt'> & { readonly sentAt?: number }): Buffer {
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
    t: routed.sentAt ?? Date.now(),
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
    sentAt: typeof header.t === 'number' ? header.t : 0,
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

// --- Positioned payloads (the stream history's; see stream-history.interface.ts) ---

/** The longest epoch a positioned payload can carry (its length travels in one byte). */
const MAX_EPOCH_LENGTH = 255;
const ZERO = Buffer.from([0]);

/**
 * `[0x03][epoch length: u8][epoch: ASCII][offset: decimal ASCII][0x00][payload bytes]`.
 * Text-like on purpose: the Redis append script builds exactly these bytes by
 * string concatenation (`string.char(3, #epoch) .. epoch .. offset .. '\0' .. payload`),
 * so the node that appends and the nodes that receive agree byte for byte.
 */
export function encodePositioned(position: StreamPosition, payload: Buffer): Buffer {
  const epoch = Buffer.from(position.epoch, 'latin1');
  if (epoch.length > MAX_EPOCH_LENGTH || !Number.isSafeInteger(position.offset) || position.offset < 0) {
    throw new RangeError(`Cannot encode the stream position ${position.epoch}:${position.offset}`);
  }
  const offset = Buffer.from(String(position.offset), 'latin1');
  const head = Buffer.allocUnsafe(2);
  head[0] = PayloadKind.Positioned;
  head[1] = epoch.length;
  return Buffer.concat([head, epoch, offset, ZERO, payload]);
}

/** Reads a positioned payload; undefined for anything malformed (the payload is a view, not a copy). */
export function decodePositioned(buffer: Buffer): { position: StreamPosition; payload: Buffer } | undefined {
  if (buffer.length < 2 || buffer[0] !== PayloadKind.Positioned) {
    return undefined;
  }
  const epochEnd = 2 + buffer[1];
  let at = epochEnd;
  let offset = 0;
  // At most 16 digits: anything longer is not a safe integer.
  while (at < buffer.length && at - epochEnd <= 16) {
    const byte = buffer[at];
    if (byte === 0) {
      break;
    }
    if (byte < 0x30 || byte > 0x39) {
      return undefined;
    }
    offset = offset * 10 + (byte - 0x30);
    at++;
  }
  if (at === epochEnd || at >= buffer.length || buffer[at] !== 0 || !Number.isSafeInteger(offset)) {
    return undefined;
  }
  return { position: { epoch: buffer.toString('latin1', 2, epochEnd), offset }, payload: buffer.subarray(at + 1) };
}
