import { Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { CloseCode } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * Applies the gateway's backpressure policy to a socket whose buffered
 * bytes reached the high-water mark. Returns true when the frame must not be
 * written: a broadcast under the `skip` policy, or a socket being closed.
 *
 * A slow consumer is closed with 1013; since it does not read, the close
 * frame may never reach it, so the socket is terminated after
 * `closeTimeout` to free its buffer.
 */
export function handleSlowConsumer(socket: SwitchboardSocket, isBroadcast: boolean): boolean {
  const gateway = socket._gateway!;
  const { policy, closeAt } = gateway.behaviour.backpressure;
  const buffered = socket.bufferedAmount;
  if (policy === 'close' || buffered >= closeAt) {
    if (socket.readyState === WebSocket.OPEN) {
      gateway.stats.slowConsumerCloses++;
      logger.debug(`Client ${socket.id}: ${buffered} bytes unread, closing (${ErrorCode.SLOW_CONSUMER})`);
      socket.close(CloseCode.TRY_AGAIN_LATER, ErrorCode.SLOW_CONSUMER);
      setTimeout(() => socket.terminate(), gateway.behaviour.closeTimeout).unref();
    }
    return true;
  }
  if (isBroadcast) {
    gateway.stats.slowConsumerSkips++;
    return true;
  }
  return false;
}
