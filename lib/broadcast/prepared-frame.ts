import { WebSocket } from 'ws';
import type { BroadcastPacket } from '../broker/broker.interface.js';
import { frameOf, negotiatedDeflate, SENDER_IDLE, senderOf } from '../internals/ws.js';
import type { StreamMark } from './positioned-frame.js';

/**
 * One broadcast's bytes, built once and written to every recipient.
 *
 * When `ws` exposes its framing (`Sender.frame`, `_sender.sendFrame`), the
 * complete WebSocket frame (header + payload) is built once and written
 * as is: per recipient that is two socket writes and no allocation, the
 * technique socket.io's adapter uses. The fast path is taken only when it
 * is exactly what `ws.send` would do: the frame is not to be compressed
 * for this socket (the broadcast did not ask for it, or the socket did not
 * negotiate permessage-deflate: compressed frames differ per socket), its
 * sender is idle (nothing queued behind a compression or Blob read) and not
 * in the middle of a fragmented message. Otherwise the shared Buffer goes
 * through the public `send`, which still only adds a header per socket.
 */
export class PreparedFrame {
  private readonly framed: Buffer[] | undefined;

  constructor(
    readonly packet: BroadcastPacket,
    /** Set for a room broadcast with a stream position (connection-state recovery): `packet.frame` carries it. */
    readonly mark?: StreamMark,
  ) {
    const framed = frameOf?.(packet.frame, { fin: true, rsv1: false, opcode: packet.binary ? 2 : 1, mask: false, readOnly: false });
    // Header and payload in one buffer (copied once per broadcast): each recipient then gets one plain
    // write instead of cork + two writes + uncork, -40% instructions per delivery (bench/RESULTS.md).
    this.framed = framed === undefined ? undefined : framed.length === 1 ? framed : [Buffer.concat(framed)];
  }

  /** Writes the frame to one socket; false when the socket is not open. */
  writeTo(socket: WebSocket): boolean {
    if (socket.readyState !== WebSocket.OPEN) {
      return false;
    }
    const sender = senderOf(socket);
    if (
      this.framed !== undefined &&
      sender !== undefined &&
      sender._state === SENDER_IDLE &&
      sender._firstFragment !== false &&
      typeof sender.sendFrame === 'function' &&
      (!this.packet.compress || !negotiatedDeflate(socket))
    ) {
      sender.sendFrame(this.framed);
    } else {
      socket.send(this.packet.frame, { binary: this.packet.binary, compress: this.packet.compress });
    }
    return true;
  }
}
