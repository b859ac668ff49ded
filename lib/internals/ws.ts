import type { Socket } from 'node:net';
import * as ws from 'ws';

/**
 * The private parts of `ws` this library relies on, in one place, so that a
 * `ws` release that moves them breaks one file and the test that pins them
 * (test/unit/internals/ws.spec.ts), not many places:
 * - `_socket`: the TCP socket under a WebSocket (write batching corks it,
 *   the heartbeat reads its `bytesRead`);
 * - `_closeFrameReceived`: the peer's close frame was read;
 * - `_readyState`: set by the test harness's mock socket;
 * - `Sender.frame`, `_sender` (`_state`, `_firstFragment`, `sendFrame`) and
 *   `_extensions`: pre-framed broadcasts, written as socket.io's adapter does.
 * The pre-framed path is feature-detected: if `ws` ever drops it, broadcasts
 * fall back to the public `send`.
 */
interface WsSocketInternals {
  _socket?: Socket;
  _closeFrameReceived?: boolean;
  _readyState?: number;
  _sender?: WsSender;
  _extensions?: Record<string, unknown>;
}

/** What pre-framed writes read of a socket's sender. */
export interface WsSender {
  _state?: number;
  _firstFragment?: boolean;
  sendFrame?: (list: readonly Buffer[], cb?: () => void) => void;
}

type FrameFunction = (data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }) => Buffer[];

/** `ws`'s framing function (`Sender.frame`), when it exposes one. */
export const frameOf: FrameFunction | undefined = (ws as unknown as { Sender?: { frame?: FrameFunction } }).Sender?.frame;

/** `ws`'s sender state when no compression or Blob read is in progress. */
export const SENDER_IDLE = 0;

const internals = (socket: ws.WebSocket): WsSocketInternals => socket as unknown as WsSocketInternals;

/** The TCP socket of a WebSocket (undefined before the upgrade completes). */
export function tcpSocketOf(socket: ws.WebSocket): Socket | undefined {
  return internals(socket)._socket;
}

/** Whether the peer already sent its close frame (then the close must answer at once). */
export function closeFrameReceived(socket: ws.WebSocket): boolean {
  return internals(socket)._closeFrameReceived === true;
}

/** The socket's frame sender. */
export function senderOf(socket: ws.WebSocket): WsSender | undefined {
  return internals(socket)._sender;
}

/** Whether the socket negotiated permessage-deflate. */
export function negotiatedDeflate(socket: ws.WebSocket): boolean {
  return internals(socket)._extensions?.['permessage-deflate'] !== undefined;
}

/** Sets the ready state of a socket that has no network (the mock socket). */
export function setReadyState(socket: ws.WebSocket, state: number): void {
  internals(socket)._readyState = state;
}
