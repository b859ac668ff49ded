/** A message id as the client chose it; echoed back unchanged in the ack. */
export type MessageId = string | number;

/** Client to server (protocol v1). */
export interface InboundMessage<T = unknown> {
  event: string;
  data?: T;
  id?: MessageId;
}

/** What an error ack and an `exception` event carry. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export interface OkAck<T = unknown> {
  id: MessageId;
  status: 'ok';
  data: T;
}

export interface ErrorAck {
  id: MessageId;
  status: 'error';
  error: ErrorBody;
}

export type Ack<T = unknown> = OkAck<T> | ErrorAck;

/** Server to client push; also Nest's `WsResponse` shape. */
export interface OutboundEvent<T = unknown> {
  event: string;
  data: T;
}

/**
 * The `data` of an `exception` event: Nest's shape (`status`, `message`) plus a
 * stable `code`, so existing clients keep working and new ones can branch on it.
 */
export interface ExceptionEventData {
  status: 'error';
  code: string;
  message: string;
  details?: unknown;
}
