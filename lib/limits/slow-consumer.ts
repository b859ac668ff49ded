import { Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { CloseCode } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { Connection } from '../connection/connection.interface.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * Backpressure for a broadcast to a connection whose buffered bytes reached
 * the high-water mark: true when the frame must not be written. Under
 * `skip` the client misses broadcasts until it catches up; under `close`,
 * or past `closeAt`, it is closed (1013). With recovery, a positioned room
 * message is never skipped: the client is closed (1013) and recovers it.
 */
export function refuseBroadcastToSlowConsumer(connection: Connection, positioned = false): boolean {
  const { policy, closeAt } = connection._server!.behaviour.backpressure;
  const buffered = connection.bufferedAmount;
  // A room message of a recovering session is never skipped in silence: the client is closed instead,
  // reconnects and gets it replayed (its offsets may have holes, so it could not tell a skip).
  if (policy === 'close' || buffered >= closeAt || (positioned && connection._extras?.session !== undefined)) {
    closeSlowConsumer(connection, buffered);
  } else {
    connection._server!.stats.slowConsumerSkips++;
  }
  return true;
}

/**
 * Backpressure for a reply (an ack, an answer to the client's own message)
 * to a connection past the high-water mark: true when it must not be
 * written. Replies are still written up to `closeAt`, under either policy,
 * because the close waits for the acks of messages already dispatched;
 * under `close` the client is closed (1013) all the same.
 */
export function refuseReplyToSlowConsumer(connection: Connection): boolean {
  const { policy, closeAt } = connection._server!.behaviour.backpressure;
  const buffered = connection.bufferedAmount;
  if (buffered >= closeAt) {
    closeSlowConsumer(connection, buffered);
    return true;
  }
  if (policy === 'close') {
    closeSlowConsumer(connection, buffered);
  }
  return false;
}

/**
 * Closes a slow consumer with 1013, once. Since it does not read, the close
 * frame may never reach it, so the socket is terminated after
 * `closeTimeout` to free its buffer.
 */
function closeSlowConsumer(socket: Connection, buffered: number): void {
  if (socket.readyState !== WebSocket.OPEN || socket._extras?.pendingClose !== undefined) {
    return; // Already closing.
  }
  const server = socket._server!;
  server.stats.slowConsumerCloses++;
  logger.debug(`Client ${socket.id}: ${buffered} bytes unread, closing (${ErrorCode.SLOW_CONSUMER})`);
  socket.close(CloseCode.TRY_AGAIN_LATER, ErrorCode.SLOW_CONSUMER);
  setTimeout(() => socket.terminate(), server.behaviour.closeTimeout).unref();
}
