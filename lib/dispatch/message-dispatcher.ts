import { Logger, type WsMessageHandler } from '@nestjs/common';
import { isObservable, type Observable, type Subscription } from 'rxjs';
import { WebSocket, type RawData } from 'ws';
import { CloseCode } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import { INTERNAL_ERROR_BODY, logUnexpected } from '../errors/log-unexpected.js';
import type { ErrorBody, InboundMessage, MessageId } from '../interfaces/envelope.interface.js';
import type { DecodedFrame } from '../interfaces/gateway-behaviour.interface.js';
import type { ResolvedGatewayBehaviour } from '../options/gateway-options.js';
import { ClientAck, isMessageId, ProtocolViolation, readInboundMessage } from '../protocol/inbound-message.js';
import { settleClientAck } from '../requests/client-requests.js';
import { RateVerdict, takeToken } from '../limits/rate-limit.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';
import { pendingCloseCode, runDeferredClose } from '../ack/deferred-close.js';
import { sendErrorAck, sendFailure, sendOkAck, sendValue } from '../outbound/outbound.js';
import { PendingReply } from '../ack/pending-reply.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * Queued messages of one connection (ordered dispatch) past which it stops
 * being read; reading resumes when the queue is down to half. TCP then
 * pushes back on the client instead of the server buffering without bound.
 */
const ORDERED_QUEUE_PAUSE_AT = 256;

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
  const server = socket._server!;
  server.stats.messagesReceived++;
  if (socket.readyState !== WebSocket.OPEN) {
    return; // A frame read after the close frame went out: nothing can answer it.
  }
  const behaviour = server.behaviour;
  // Every frame counts against the rate limit, readable or not: decoding is
  // the work a flood of garbage would otherwise get for free.
  const verdict = behaviour.rateLimit === false ? RateVerdict.Accept : takeToken(socket, behaviour.rateLimit, Date.now());
  const frame = toBuffer(data);
  server.stats.bytesReceived += frame.length;
  const message = readFrame(socket, behaviour, frame, isBinary);
  if (verdict !== RateVerdict.Accept) {
    return refuseOverRate(socket, message, verdict);
  }
  if (message === undefined) {
    return; // The parser or decoder chose to drop this frame, as WsAdapter allows.
  }
  if (message instanceof ProtocolViolation) {
    return refuseFrame(socket, message.code, message.message, message.id);
  }
  if (message instanceof ClientAck) {
    return settleClientAck(socket, message.id, message.status, message.data, message.error);
  }
  const closingWith = pendingCloseCode(socket);
  if (closingWith !== undefined) {
    // The server is closing this connection once running handlers answer:
    // later messages are not run, but an id still gets its one answer.
    return answerRefused(socket, message.id, { code: closingWith, message: 'The connection is closing.' });
  }
  if (server.closing) {
    server.stats.refusedWhileClosing++;
    return sendFailure(socket, message.id, { code: ErrorCode.SERVER_SHUTTING_DOWN, message: 'The server is shutting down.' });
  }
  const event = behaviour.routeMessage === undefined ? message.event : behaviour.routeMessage(message, socket);
  const index = event === undefined ? undefined : socket._routes?.get(event);
  if (index === undefined) {
    if (message.event.charCodeAt(0) === DOLLAR && answerReserved(socket, message)) {
      return;
    }
    return answerUnknownEvent(socket, message);
  }
  if (message.id !== undefined && socket._extras?.session?.answerRepeat(socket, message.id) === true) {
    return; // A request sent again after a reconnect: answered from its recorded ack, never run twice.
  }
  const handler = socket._handlers![index];
  if (behaviour.ordered && socket._inflight > 0) {
    return enqueue(socket, handler, message);
  }
  dispatch(socket, handler, message);
}

const DOLLAR = 0x24;

/**
 * The library's own events (names starting with `$`, used only when no
 * handler of the gateway has the name): `$ping` is answered `$pong` (browser
 * clients cannot see WebSocket pings), `$recover` restores a session when
 * recovery is on. False for any other name.
 */
function answerReserved(socket: SwitchboardSocket, message: InboundMessage): boolean {
  switch (message.event) {
    case '$ping':
      if (message.id !== undefined) {
        sendOkAck(socket, message.id, null);
      } else {
        sendValue(socket, PONG);
      }
      return true;
    case '$recover': {
      const sessions = socket._server!.sessions;
      if (sessions === undefined || message.id === undefined) {
        return false;
      }
      sessions.recover(socket, message.id, message.data);
      return true;
    }
    default:
      return false;
  }
}

const PONG = Object.freeze({ event: '$pong' });

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) {
    return data;
  }
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/**
 * Turns a frame into a checked message: through a subclass's decoder, a
 * `messageParser` (drop-in) or the codec, then the nesting-depth limit and
 * the protocol v1 envelope check. `undefined` drops the frame.
 */
function readFrame(
  socket: SwitchboardSocket,
  behaviour: ResolvedGatewayBehaviour,
  frame: Buffer,
  isBinary: boolean,
): InboundMessage | ClientAck | ProtocolViolation | undefined {
  const { codec, messageParser, decodeMessage } = behaviour;
  let decoded: unknown;
  if (decodeMessage !== undefined || messageParser !== undefined) {
    let parsed: DecodedFrame;
    try {
      // platform-ws hands a parser text frames as strings.
      parsed = decodeMessage !== undefined ? decodeMessage(frame, isBinary, socket) : messageParser!(isBinary ? frame : frame.toString());
    } catch (error) {
      reportParserThrow(socket, error);
      return new ProtocolViolation(ErrorCode.INVALID_MESSAGE, 'The message could not be parsed.', undefined);
    }
    if (parsed === undefined || parsed === null) {
      return undefined;
    }
    decoded = parsed;
  } else {
    if (isBinary !== codec.binary && codec.acceptsBothKinds !== true) {
      const expected = codec.binary ? 'binary' : 'text';
      return new ProtocolViolation(ErrorCode.UNSUPPORTED_DATA, `This gateway reads ${expected} frames (${codec.name}).`, undefined);
    }
    try {
      decoded = codec.decode(frame);
    } catch {
      return new ProtocolViolation(ErrorCode.DECODE_FAILED, `The frame is not valid ${codec.name}.`, undefined);
    }
  }
  // A value nested N levels deep takes at least N bytes in any encoding, so
  // short frames (nearly all of them) skip the walk.
  if (frame.length > behaviour.maxDepth && deeperThan(decoded, behaviour.maxDepth)) {
    return new ProtocolViolation(ErrorCode.INVALID_MESSAGE, `The message is nested deeper than ${behaviour.maxDepth} levels.`, readableId(decoded));
  }
  return readInboundMessage(decoded);
}

/** True when `value` holds objects or arrays more than `levels` deep. Recursion is bounded by `levels`. */
function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  if (levels === 0) {
    return true;
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      if (deeperThan(item, levels - 1)) {
        return true;
      }
    }
    return false;
  }
  for (const key in value) {
    if (deeperThan((value as Record<string, unknown>)[key], levels - 1)) {
      return true;
    }
  }
  return false;
}

function readableId(decoded: unknown): MessageId | undefined {
  const id = typeof decoded === 'object' && decoded !== null ? (decoded as { id?: unknown }).id : undefined;
  return isMessageId(id) ? id : undefined;
}

/** Parser throws reported at error level per gateway: the first one, then debug (a client must not flood the log). */
const reportedParserThrows = new WeakSet<object>();

/**
 * A custom parser that throws is an application bug (Nest's rule: it is
 * logged), but it throws on client input, so only the first one per gateway
 * is an error line; later ones are debug lines.
 */
function reportParserThrow(socket: SwitchboardSocket, error: unknown): void {
  const server = socket._server!;
  const text = `The message parser threw: ${error instanceof Error ? error.message : String(error)}`;
  if (reportedParserThrows.has(server)) {
    logger.debug(text);
    return;
  }
  reportedParserThrows.add(server);
  logUnexpected(logger, error, `The message parser threw (further parser errors on ${server.path} are logged at debug level)`);
}

/** Answers a frame over the rate limit (an id gets its error ack) and closes on persistent abuse. */
function refuseOverRate(socket: SwitchboardSocket, message: InboundMessage | ClientAck | ProtocolViolation | undefined, verdict: RateVerdict): void {
  const server = socket._server!;
  server.stats.rateLimited++;
  // A message is told it was refused; unreadable frames without an id are not answered.
  const answerable = message instanceof ProtocolViolation ? message.id !== undefined : message !== undefined && !(message instanceof ClientAck);
  if (answerable) {
    sendFailure(socket, message!.id, { code: ErrorCode.RATE_LIMITED, message: 'Too many messages; slow down.' });
  }
  if (verdict === RateVerdict.Close && pendingCloseCode(socket) === undefined) {
    // Counted once per connection: frames read while the close waits for running handlers only add to rateLimited.
    server.stats.rateLimitCloses++;
    socket.close(CloseCode.POLICY_VIOLATION, ErrorCode.RATE_LIMITED);
  }
}

/** Applies the gateway's invalid-message policy to a frame that cannot be dispatched. */
function refuseFrame(socket: SwitchboardSocket, code: ErrorCode, message: string, id: MessageId | undefined): void {
  const server = socket._server!;
  server.stats.invalidMessages++;
  const policy = server.behaviour.invalidMessage;
  logger.debug(`Client ${socket.id}: ${code}: ${message}`);
  if (policy === 'close') {
    if (id !== undefined) {
      sendErrorAck(socket, id, { code, message });
    }
    socket.close(code === ErrorCode.UNSUPPORTED_DATA ? CloseCode.UNSUPPORTED_DATA : CloseCode.INVALID_PAYLOAD, code);
    return;
  }
  // An id is a promise of exactly one answer, whatever the policy.
  if (policy === 'reply' || id !== undefined) {
    sendFailure(socket, id, { code, message });
  }
}

function answerUnknownEvent(socket: SwitchboardSocket, message: InboundMessage): void {
  const server = socket._server!;
  server.stats.unknownEvents++;
  if (message.id !== undefined || server.behaviour.unknownEvent === 'reply') {
    // The event name is the client's own input: it is not echoed back.
    sendFailure(socket, message.id, { code: ErrorCode.UNKNOWN_EVENT, message: 'No handler for this event.' });
  }
}

/** A message that will not run: an id gets its error ack; without one it is dropped silently. */
function answerRefused(socket: SwitchboardSocket, id: MessageId | undefined, error: ErrorBody): void {
  if (id !== undefined) {
    sendErrorAck(socket, id, error);
  }
}

/** Ordered dispatch: the message waits for the connection's running handler. */
function enqueue(socket: SwitchboardSocket, handler: WsMessageHandler, message: InboundMessage): void {
  const queue = ((socket._extras ??= {}).queue ??= []);
  queue.push({ handler, message });
  if (queue.length >= ORDERED_QUEUE_PAUSE_AT && !socket.isPaused) {
    socket.pause();
  }
}

function dispatch(socket: SwitchboardSocket, handler: WsMessageHandler, message: InboundMessage): void {
  const { id } = message;
  handlerStarted(socket);
  // Timed only while a metrics exporter listens (0: not timed).
  const started = socket._server!.metrics === undefined ? 0 : performance.now();
  if (id === undefined && !handler.isAckHandledManually) {
    // The common fire-and-forget path: no reply object, no ack function.
    Promise.resolve(handler.callback(message.data)).then(
      (result: unknown) => {
        if (isObservable(result)) {
          subscribeReplies(socket, result, undefined);
        } else if (result !== undefined && result !== null) {
          sendValue(socket, result);
        }
        finished(socket, handler, started, false);
      },
      (error: unknown) => {
        onHandlerEscape(socket, error, undefined);
        finished(socket, handler, started, true);
      },
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
      finished(socket, handler, started, reply.failed);
    },
    (error: unknown) => {
      onHandlerEscape(socket, error, reply);
      finished(socket, handler, started, true);
    },
  );
}

/** A handler settled: its duration to the metrics exporter when timed, then the bookkeeping. */
function finished(socket: SwitchboardSocket, handler: WsMessageHandler, started: number, failed: boolean): void {
  if (started !== 0) {
    const server = socket._server!;
    // The handler's own name (bounded by the code), not the event the client sent (a routeMessage may map any text to it).
    server.metrics?.handlerFinished(server.path, String(handler.message), (performance.now() - started) / 1000, failed);
  }
  handlerFinished(socket);
}

/** Counts a running handler, for the gateway's drain and for the connection's own. */
function handlerStarted(socket: SwitchboardSocket): void {
  socket._inflight++;
  socket._server!.handlerStarted();
}

/**
 * A handler settled and its answer, if any, is sent. When it was the
 * connection's last one, a close the server deferred runs now; under ordered
 * dispatch the next queued message starts.
 */
function handlerFinished(socket: SwitchboardSocket): void {
  socket._server!.handlerFinished();
  if (--socket._inflight > 0) {
    return;
  }
  const extras = socket._extras;
  if (extras === undefined) {
    return;
  }
  if (extras.pendingClose !== undefined) {
    runDeferredClose(socket); // Also answers what was queued and never ran.
    return;
  }
  const next = extras.queue?.shift();
  if (next !== undefined) {
    if (socket.isPaused && extras.queue!.length <= ORDERED_QUEUE_PAUSE_AT / 2 && socket.readyState === WebSocket.OPEN) {
      socket.resume();
    }
    dispatch(socket, next.handler, next.message);
  }
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
      onHandlerEscape(socket, error, reply);
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
function onHandlerEscape(socket: SwitchboardSocket, error: unknown, reply: PendingReply | undefined): void {
  socket._server!.stats.handlerErrors++;
  logUnexpected(logger, error, 'An error escaped the exception filters');
  if (reply !== undefined && reply.id !== undefined) {
    reply.reject(INTERNAL_ERROR_BODY);
  }
}
