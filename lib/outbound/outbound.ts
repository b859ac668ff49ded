import { Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import { EXCEPTION_EVENT } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { ErrorBody, MessageId } from '../interfaces/envelope.interface.js';
import { refuseReplyToSlowConsumer } from '../limits/slow-consumer.js';
import { batchWritesThisTick } from './write-batching.js';
import type { Connection } from '../connection/connection.interface.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * Encodes a value with the gateway's codec and sends it, if the socket is
 * still open. Returns false when nothing was sent. A value the codec cannot
 * encode (a cycle, a BigInt) is a server bug: it is logged, never thrown into
 * the message loop.
 */
export function sendValue(socket: Connection, value: unknown, compress?: boolean): boolean {
  if (socket.readyState !== WebSocket.OPEN) {
    return false;
  }
  const gateway = socket._server!;
  if (socket.bufferedAmount >= gateway.behaviour.backpressure.highWaterMark && refuseReplyToSlowConsumer(socket)) {
    return false;
  }
  let frame: string | Buffer;
  try {
    frame = gateway.behaviour.codec.encode(value);
  } catch (error) {
    logger.error(`A reply could not be encoded and was not sent: ${(error as Error).message}`, (error as Error).stack);
    return false;
  }
  batchWritesThisTick(socket);
  if (compress === undefined) {
    socket.send(frame);
  } else {
    socket.send(frame, { compress, binary: typeof frame !== 'string' });
  }
  return true;
}

export function sendOkAck(socket: Connection, id: MessageId, data: unknown): void {
  // `data` is always present in an ok ack; a void handler acks with null.
  if (!sendValue(socket, { id, status: 'ok', data: data === undefined ? null : data }) && socket.readyState === WebSocket.OPEN) {
    // The result itself could not be encoded: the client still gets its one answer.
    sendErrorAck(socket, id, { code: ErrorCode.INTERNAL, message: 'Internal server error' });
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
