import { Logger, type WsMessageHandler } from '@nestjs/common';
import { isObservable, type Observable, type Subscription } from 'rxjs';
import type { RawData, WebSocket } from 'ws';
import { CloseCode } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { ErrorBody, InboundMessage, MessageId } from '../interfaces/envelope.interface.js';
import { ClientAck, ProtocolViolation, readInboundMessage } from '../protocol/inbound-message.js';
import { settleClientAck } from '../requests/client-requests.js';
import { RateVerdict, takeToken } from '../limits/rate-limit.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';
import { sendFailure, sendValue } from './outbound.js';
import { PendingReply } from './pending-reply.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * The per-message path: decode, check the envelope, look the event up in a
 * Map, call Nest's handler. No RxJS pipeline is built per message; only an
 * Observable result is subscribed to.
 *
 * Registered once per socket as a module-level function (no closure); `this`
 * is the socket.
 */
export function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const socket = this as SwitchboardSocket;
  const gateway = socket._gateway!;
  gateway.stats.messagesReceived++;
  const frame = toBuffer(data);
  const { codec, messageParser } = gateway.behaviour;

  let decoded: unknown;
  if (messageParser !== undefined) {
    try {
      decoded = messageParser(frame);
    } catch (error) {
      // A custom parser that throws is an application bug: log it (Nest's rule too).
      logger.error(`The messageParser threw: ${(error as Error).message}`, (error as Error).stack);
      return refuseFrame(socket, ErrorCode.INVALID_MESSAGE, 'The message could not be parsed.', undefined);
    }
    if (decoded === undefined || decoded === null) {
      return; // The parser chose to drop this frame, as WsAdapter allows.
    }
  } else {
    if (isBinary !== codec.binary && codec.acceptsBothKinds !== true) {
      const expected = codec.binary ? 'binary' : 'text';
      return refuseFrame(socket, ErrorCode.UNSUPPORTED_DATA, `This gateway reads ${expected} frames (${codec.name}).`, undefined);
    }
    try {
      decoded = codec.decode(frame);
    } catch {
      return refuseFrame(socket, ErrorCode.DECODE_FAILED, `The frame is not valid ${codec.name}.`, undefined);
    }
  }

  const message = readInboundMessage(decoded);
  if (message instanceof ProtocolViolation) {
    return refuseFrame(socket, message.code, message.message, message.id);
  }
  if (message instanceof ClientAck) {
    return settleClientAck(socket, message.id, message.status, message.data, message.error);
  }
  if (gateway.closing) {
    gateway.stats.refusedWhileClosing++;
    return sendFailure(socket, message.id, { code: ErrorCode.SERVER_SHUTTING_DOWN, message: 'The server is shutting down.' });
  }
  const rateLimit = gateway.behaviour.rateLimit;
  if (rateLimit !== false) {
    const verdict = takeToken(socket, rateLimit, Date.now());
    if (verdict !== RateVerdict.Accept) {
      gateway.stats.rateLimited++;
      sendFailure(socket, message.id, { code: ErrorCode.RATE_LIMITED, message: 'Too many messages; slow down.' });
      if (verdict === RateVerdict.Close) {
        gateway.stats.rateLimitCloses++;
        socket.close(CloseCode.POLICY_VIOLATION, ErrorCode.RATE_LIMITED);
      }
      return;
    }
  }
  const index = socket._routes?.get(message.event);
  if (index === undefined) {
    return answerUnknownEvent(socket, message);
  }
  dispatch(socket, socket._handlers![index], message);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) {
    return data;
  }
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** Applies the gateway's invalid-message policy to a frame that cannot be dispatched. */
function refuseFrame(socket: SwitchboardSocket, code: ErrorCode, message: string, id: MessageId | undefined): void {
  const gateway = socket._gateway!;
  gateway.stats.invalidMessages++;
  const policy = gateway.behaviour.invalidMessage;
  if (policy === 'close') {
    socket.close(code === ErrorCode.UNSUPPORTED_DATA ? CloseCode.UNSUPPORTED_DATA : CloseCode.INVALID_PAYLOAD, code);
    return;
  }
  // An id is a promise of exactly one answer, whatever the policy.
  if (policy === 'reply' || id !== undefined) {
    sendFailure(socket, id, { code, message });
  }
}

function answerUnknownEvent(socket: SwitchboardSocket, message: InboundMessage): void {
  const gateway = socket._gateway!;
  gateway.stats.unknownEvents++;
  if (message.id !== undefined || gateway.behaviour.unknownEvent === 'reply') {
    // The event name is the client's own input: it is not echoed back.
    sendFailure(socket, message.id, { code: ErrorCode.UNKNOWN_EVENT, message: 'No handler for this event.' });
  }
}

function dispatch(socket: SwitchboardSocket, handler: WsMessageHandler, message: InboundMessage): void {
  const { id } = message;
  const gateway = socket._gateway!;
  gateway.handlerStarted();
  if (id === undefined && !handler.isAckHandledManually) {
    // The common fire-and-forget path: no reply object, no ack function.
    Promise.resolve(handler.callback(message.data)).then(
      (result: unknown) => {
        if (isObservable(result)) {
          subscribeReplies(socket, result, undefined);
        } else if (result !== undefined && result !== null) {
          sendValue(socket, result);
        }
        gateway.handlerFinished();
      },
      (error: unknown) => onHandlerEscape(socket, error, undefined),
    );
    return;
  }
  const reply = new PendingReply(socket, id);
  Promise.resolve(handler.callback(message.data, reply.ack)).then(
    (result: unknown) => {
      if (reply.failed) {
        // An application filter handled the error but sent no ack: send it.
        reply.rejectWithRecordedFailure();
      } else if (handler.isAckHandledManually) {
        // The handler acks through @Ack(); its return value is not a reply.
      } else if (isObservable(result)) {
        subscribeReplies(socket, result, reply);
      } else {
        reply.resolve(result);
      }
      gateway.handlerFinished();
    },
    (error: unknown) => onHandlerEscape(socket, error, reply),
  );
}

/**
 * Sends each value of an Observable result. With a pending reply, the first
 * value settles the ack (completion without a value acks with null) and later
 * values are sent as plain replies. Unsubscribed when the socket closes.
 */
function subscribeReplies(socket: SwitchboardSocket, result: Observable<unknown>, reply: PendingReply | undefined): void {
  const subscriptions = ((socket._extras ??= {}).subscriptions ??= new Set());
  // A synchronous Observable completes inside subscribe(), before the
  // subscription is returned: `finished` tells the two cases apart.
  let subscription: Subscription | undefined;
  let finished = false;
  const finish = (): void => {
    finished = true;
    if (subscription !== undefined) {
      subscriptions.delete(subscription);
    }
  };
  subscription = result.subscribe({
    next: (value) => {
      if (reply !== undefined && !reply.settled) {
        reply.resolve(value);
      } else if (value !== undefined && value !== null) {
        sendValue(socket, value);
      }
    },
    // Nest's proxy turns stream errors into exception handling and EMPTY, so
    // an error here escaped an application filter that rethrew.
    error: (error: unknown) => {
      finish();
      onHandlerEscape(socket, error, reply, false);
    },
    complete: () => {
      finish();
      if (reply !== undefined && !reply.settled) {
        if (reply.failed) {
          reply.rejectWithRecordedFailure();
        } else {
          reply.resolve(undefined);
        }
      }
    },
  });
  if (!finished) {
    subscriptions.add(subscription);
  }
}

/**
 * Nest's proxy catches everything a handler throws, so a rejection here means
 * an application exception filter rethrew: an application bug. It is logged,
 * the message still gets its one answer, and the next messages are served.
 */
function onHandlerEscape(socket: SwitchboardSocket, error: unknown, reply: PendingReply | undefined, countInflight = true): void {
  const gateway = socket._gateway!;
  if (countInflight) {
    gateway.handlerFinished();
  }
  gateway.stats.handlerErrors++;
  logger.error(
    `An error escaped the exception filters: ${error instanceof Error ? error.message : String(error)}`,
    error instanceof Error ? error.stack : undefined,
  );
  if (reply !== undefined && reply.id !== undefined) {
    reply.reject(internalError());
  }
}

function internalError(): ErrorBody {
  return { code: ErrorCode.INTERNAL, message: 'Internal server error' };
}
