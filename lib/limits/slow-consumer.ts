import { Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { CloseCode } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * Applies the gateway's backpressure policy to a socket whose buffered
 * bytes reached the high-water mark. Returns true when the frame must not be
 * written.
 *
 * - Past `closeAt` nothing more is written and the client is closed (1013),
 *   whatever the policy: memory stays bounded.
 * - Under `close`, the client is closed at once; broadcasts are no longer
 *   written, but replies still are (up to `closeAt`), because the close
 *   waits for the acks of messages already dispatched.
 * - Under `skip`, broadcasts skip the client until it catches up; replies to
 *   its own messages are still written.
 */
export function handleSlowConsumer(socket: SwitchboardSocket, isBroadcast: boolean): boolean {
  const gateway = socket._server!;
  const { policy, closeAt } = gateway.behaviour.backpressure;
  const buffered = socket.bufferedAmount;
  if (buffered >= closeAt) {
    closeSlowConsumer(socket, buffered);
    return true;
  }
  if (policy === 'close') {
    closeSlowConsumer(socket, buffered);
    return isBroadcast;
  }
  if (isBroadcast) {
    gateway.stats.slowConsumerSkips++;
    return true;
  }
  return false;
}

/**
 * Closes a slow consumer with 1013, once. Since it does not read, the close
 * frame may never reach it, so the socket is terminated after
 * `closeTimeout` to free its buffer.
 */
function closeSlowConsumer(socket: SwitchboardSocket, buffered: number): void {
  if (socket.readyState !== WebSocket.OPEN || socket._extras?.pendingClose !== undefined) {
    return; // Already closing.
  }
  const gateway = socket._server!;
  gateway.stats.slowConsumerCloses++;
  logger.debug(`Client ${socket.id}: ${buffered} bytes unread, closing (${ErrorCode.SLOW_CONSUMER})`);
  socket.close(CloseCode.TRY_AGAIN_LATER, ErrorCode.SLOW_CONSUMER);
  setTimeout(() => socket.terminate(), gateway.behaviour.closeTimeout).unref();
}
