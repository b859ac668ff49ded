import { WebSocket } from 'ws';
import { ErrorCode } from '../errors/error-codes.js';
import type { Connection } from '../connection/connection.interface.js';
import { closeFrameReceived } from '../internals/ws.js';
import { sendErrorAck } from '../outbound/outbound.js';

/** A close the server asked for while handlers of the connection were still running. */
export interface PendingClose {
  readonly code: number | undefined;
  readonly reason: string | Buffer | undefined;
  readonly timer: NodeJS.Timeout;
}

/**
 * One ack per id, also when the server closes the connection (rate limit
 * 1008, slow consumer 1013, 1009 from `ws`, the `close` policy, or
 * `client.close()` from a handler). Called by `Connection.close`:
 * while handlers of this connection run, the close waits. The socket stops
 * being read, running handlers finish and send their acks, then the close
 * frame goes out, at the latest after `drainTimeout`. Returns false when
 * there is nothing to wait for and the close can happen now.
 */
export function deferClose(socket: Connection, code: number | undefined, reason: string | Buffer | undefined): boolean {
  const server = socket._server;
  if (server === undefined || socket._inflight === 0 || socket.readyState !== WebSocket.OPEN || closeFrameReceived(socket)) {
    return false;
  }
  const extras = (socket._extras ??= {});
  if (extras.pendingClose === undefined) {
    socket.pause();
    const timer = setTimeout(runDeferredClose, server.behaviour.drainTimeout, socket);
    timer.unref();
    extras.pendingClose = { code, reason, timer };
  }
  return true; // The first close asked for is the one that runs.
}

/** The error code that messages arriving during a deferred close are refused with, or undefined when none is pending. */
export function pendingCloseCode(socket: Connection): string | undefined {
  const pending = socket._extras?.pendingClose;
  if (pending === undefined) {
    return undefined;
  }
  const reason = pending.reason === undefined ? '' : pending.reason.toString();
  return reason.length > 0 ? reason : ErrorCode.DISCONNECTED;
}

/**
 * Sends the deferred close now: the connection's handlers are done, or
 * `drainTimeout` passed. Queued messages (ordered dispatch) that never ran
 * get their error acks first.
 */
export function runDeferredClose(socket: Connection): void {
  const extras = socket._extras;
  const pending = extras?.pendingClose;
  if (extras === undefined || pending === undefined) {
    return;
  }
  const code = pendingCloseCode(socket)!;
  clearTimeout(pending.timer);
  extras.pendingClose = undefined;
  const queue = extras.queue;
  extras.queue = undefined;
  for (const queued of queue ?? []) {
    if (queued.message.id !== undefined) {
      sendErrorAck(socket, queued.message.id, { code, message: 'The connection is closing.' });
    }
  }
  // Read again, so that the peer's answering close frame is seen.
  socket.resume();
  WebSocket.prototype.close.call(socket, pending.code, pending.reason);
}

/** The socket closed by other means (terminated, peer gone): the deferred close has nothing left to do. */
export function cancelDeferredClose(socket: Connection): void {
  const pending = socket._extras?.pendingClose;
  if (pending !== undefined) {
    clearTimeout(pending.timer);
    socket._extras!.pendingClose = undefined;
  }
}
