import { Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { EXCEPTION_EVENT } from '../constants.js';
import { INTERNAL_ERROR_BODY, logUnexpected } from '../errors/log-unexpected.js';
import type { ErrorBody, MessageId } from '../interfaces/envelope.interface.js';
import { refuseReplyToSlowConsumer } from '../limits/slow-consumer.js';
import { batchWritesThisTick } from './write-batching.js';
import type { Connection } from '../connection/connection.interface.js';

const logger = new Logger('SwitchboardAdapter');

/** What became of one value handed to {@link writeValue}. */
export const enum WriteOutcome {
  Written,
  /** The socket is closing or closed. */
  NotOpen,
  /** Past `backpressure.closeAt`: the slow consumer is being closed. */
  Refused,
  /** The codec could not encode the value (a server bug, logged). */
  EncodeFailed,
}

/**
 * Encodes a value with the gateway's codec and sends it, if the socket is
 * still open, and says what happened. A value the codec cannot encode (a
 * cycle, a BigInt) is a server bug: it is logged, never thrown into the
 * message loop.
 */
export function writeValue(socket: Connection, value: unknown, compress?: boolean): WriteOutcome {
  if (socket.readyState !== WebSocket.OPEN) {
    return WriteOutcome.NotOpen;
  }
  const server = socket._server!;
  if (socket.bufferedAmount >= server.behaviour.backpressure.highWaterMark && refuseReplyToSlowConsumer(socket)) {
    return WriteOutcome.Refused;
  }
  let frame: string | Buffer;
  try {
    frame = server.behaviour.codec.encode(value);
  } catch (error) {
    logUnexpected(logger, error, 'A reply could not be encoded and was not sent');
    return WriteOutcome.EncodeFailed;
  }
  batchWritesThisTick(socket);
  server.stats.messagesSent++;
  server.stats.bytesSent += typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
  if (compress === undefined) {
    socket.send(frame);
  } else {
    socket.send(frame, { compress, binary: typeof frame !== 'string' });
  }
  return WriteOutcome.Written;
}

/** {@link writeValue}, for callers that only need to know whether it was written. */
export function sendValue(socket: Connection, value: unknown, compress?: boolean): boolean {
  return writeValue(socket, value, compress) === WriteOutcome.Written;
}

export function sendOkAck(socket: Connection, id: MessageId, data: unknown): void {
  // `data` is always present in an ok ack; a void handler acks with null.
  if (writeValue(socket, { id, status: 'ok', data: data === undefined ? null : data }) === WriteOutcome.EncodeFailed) {
    // The result itself could not be encoded: the client still gets its one answer.
    sendErrorAck(socket, id, INTERNAL_ERROR_BODY);
  }
}

export function sendErrorAck(socket: Connection, id: MessageId, error: ErrorBody): void {
  sendValue(socket, { id, status: 'error', error });
}

/** Nest's `exception` event, with the stable `code` added. */
export function sendExceptionEvent(socket: Connection, error: ErrorBody): void {
  sendValue(socket, { event: EXCEPTION_EVENT, data: { status: 'error', ...error } });
}

/** One answer for a failure: an error ack when the message had an id, an `exception` event otherwise. */
export function sendFailure(socket: Connection, id: MessageId | undefined, error: ErrorBody): void {
  if (id === undefined) {
    sendExceptionEvent(socket, error);
  } else {
    sendErrorAck(socket, id, error);
  }
}
