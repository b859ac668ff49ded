import * as ws from 'ws';
import { WebSocket } from 'ws';
import type { BroadcastPacket } from '../broker/broker.interface.js';

/** The parts of `ws` internals the pre-framed path relies on, all feature-detected. */
interface WsSender {
  _state?: number;
  _firstFragment?: boolean;
  sendFrame?: (list: readonly Buffer[], cb?: () => void) => void;
}
interface WsInternals {
  _sender?: WsSender;
  _extensions?: Record<string, unknown>;
}
type FrameFunction = (data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }) => Buffer[];

const frameOf: FrameFunction | undefined = (ws as unknown as { Sender?: { frame?: FrameFunction } }).Sender?.frame;

/** `ws`'s sender state when no compression or Blob read is in progress. */
const SENDER_IDLE = 0;

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

  constructor(readonly packet: BroadcastPacket) {
    this.framed = frameOf?.(packet.frame, { fin: true, rsv1: false, opcode: packet.binary ? 2 : 1, mask: false, readOnly: false });
  }

  /** Writes the frame to one socket; false when the socket is not open. */
  writeTo(socket: WebSocket): boolean {
    if (socket.readyState !== WebSocket.OPEN) {
      return false;
    }
    const internals = socket as unknown as WsInternals;
    const sender = internals._sender;
    if (
      this.framed !== undefined &&
      sender !== undefined &&
      sender._state === SENDER_IDLE &&
      sender._firstFragment !== false &&
      typeof sender.sendFrame === 'function' &&
      (!this.packet.compress || internals._extensions?.['permessage-deflate'] === undefined)
    ) {
      sender.sendFrame(this.framed);
    } else {
      socket.send(this.packet.frame, { binary: this.packet.binary, compress: this.packet.compress });
    }
    return true;
  }
}
