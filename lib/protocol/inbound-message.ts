import { MAX_MESSAGE_ID_LENGTH } from '../constants.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { InboundMessage, MessageId } from '../interfaces/envelope.interface.js';

/** A decoded frame that is not a protocol v1 message. */
export class ProtocolViolation {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
    /** The message's id when it was readable, so the answer can be an error ack. */
    readonly id: MessageId | undefined,
  ) {}
}

/** A client's answer to a server-to-client request: `{ id, status, data | error }`. */
export class ClientAck {
  constructor(
    readonly id: MessageId,
    readonly status: 'ok' | 'error',
    readonly data: unknown,
    readonly error: unknown,
  ) {}
}

const SHAPE_HINT = 'expected {"event": string, "data"?: any, "id"?: string | number}';

export function isMessageId(value: unknown): value is MessageId {
  return (typeof value === 'string' && value.length <= MAX_MESSAGE_ID_LENGTH) || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Checks the shape of a decoded frame without copying it: the decoded
 * object itself becomes the message. A frame with an `id` and a `status`
 * but no `event` is the client's ack of a server request. Returns a
 * {@link ProtocolViolation} when the shape is wrong.
 */
export function readInboundMessage(value: unknown): InboundMessage | ClientAck | ProtocolViolation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new ProtocolViolation(ErrorCode.INVALID_MESSAGE, `The message is not an object; ${SHAPE_HINT}.`, undefined);
  }
  const candidate = value as { event?: unknown; id?: unknown; status?: unknown; data?: unknown; error?: unknown };
  const id = candidate.id;
  if (id !== undefined && !isMessageId(id)) {
    return new ProtocolViolation(
      ErrorCode.INVALID_MESSAGE,
      `The message id must be a string of at most ${MAX_MESSAGE_ID_LENGTH} characters or a finite number.`,
      undefined,
    );
  }
  const event = candidate.event;
  if (event === undefined && id !== undefined && (candidate.status === 'ok' || candidate.status === 'error')) {
    return new ClientAck(id, candidate.status, candidate.data, candidate.error);
  }
  if (typeof event !== 'string' || event.length === 0) {
    return new ProtocolViolation(ErrorCode.INVALID_MESSAGE, `The message has no event name; ${SHAPE_HINT}.`, id);
  }
  return value as InboundMessage;
}
