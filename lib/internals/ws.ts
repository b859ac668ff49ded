import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * The private fields of `ws`'s WebSocket this library reads, in one place so
 * that a `ws` release that moves them breaks one file (and the test that
 * pins them, test/unit/socket/ws-internals.spec.ts), not many.
 */
interface WsSocketInternals {
  /** The TCP socket under the WebSocket. */
  _socket?: Socket;
  /** Set once the peer's close frame was read. */
  _closeFrameReceived?: boolean;
}

/** The TCP socket of a WebSocket (undefined before the upgrade completes). */
export function tcpSocketOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as WsSocketInternals)._socket;
}

/** Whether the peer already sent its close frame (then the close must answer at once). */
export function closeFrameReceived(socket: WebSocket): boolean {
  return (socket as unknown as WsSocketInternals)._closeFrameReceived === true;
}
