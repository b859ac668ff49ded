import { WebSocket } from 'ws';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { ErrorBody } from '../interfaces/envelope.interface.js';
import { sendValue } from '../outbound/outbound.js';
import type { Connection } from '../connection/connection.interface.js';

/** A server-to-client request waiting for the client's ack. */
export interface PendingRequest {
  resolve(data: unknown): void;
  reject(error: SwitchboardError): void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Sends `{ event, data, id }` to the client and resolves with the `data` of
 * its ack (`{ id, status: 'ok', data }`). Rejects with a `SwitchboardError`:
 * `REQUEST_TIMEOUT` after `timeoutMs`, `DISCONNECTED` if the socket closes
 * first (or is not open), `REQUEST_REJECTED` if the client acks with
 * `status: 'error'` (its error body is in `details`).
 */
export function requestClient(socket: Connection, event: string, data: unknown, timeoutMs: number): Promise<unknown> {
  if (socket.readyState !== WebSocket.OPEN) {
    return Promise.reject(new SwitchboardError(ErrorCode.DISCONNECTED, 'The client is not connected.'));
  }
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    return Promise.reject(new SwitchboardError(ErrorCode.INVALID_OPTION, 'A request timeout must be a positive number of milliseconds.'));
  }
  const requests = ((socket._extras ??= {}).requests ??= { seq: 0, pending: new Map() });
  const id = ++requests.seq;
  const pending = requests.pending;
  const server = socket._server!;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      server.stats.requestsTimedOut++;
      reject(new SwitchboardError(ErrorCode.REQUEST_TIMEOUT, `The client did not ack "${event}" within ${timeoutMs} ms.`));
    }, timeoutMs);
    // A pending request must not keep the process alive on its own.
    timer.unref();
    pending.set(id, { resolve, reject, timer });
    server.stats.requestsSent++;
    if (!sendValue(socket, { event, data, id })) {
      clearTimeout(timer);
      pending.delete(id);
      reject(new SwitchboardError(ErrorCode.DISCONNECTED, 'The request could not be sent.'));
    }
  });
}

/** Settles the request a client ack answers; a late or unknown ack is counted and dropped. */
export function settleClientAck(socket: Connection, id: unknown, status: 'ok' | 'error', data: unknown, error: unknown): void {
  const request = typeof id === 'number' ? socket._extras?.requests?.pending.get(id) : undefined;
  if (request === undefined) {
    socket._server!.stats.strayAcks++;
    return;
  }
  socket._extras!.requests!.pending.delete(id as number);
  clearTimeout(request.timer);
  if (status === 'ok') {
    request.resolve(data);
  } else {
    const body = (typeof error === 'object' && error !== null ? error : {}) as Partial<ErrorBody>;
    request.reject(
      new SwitchboardError(ErrorCode.REQUEST_REJECTED, typeof body.message === 'string' ? body.message : 'The client rejected the request.', error),
    );
  }
}

/** Rejects every pending request of a socket that closed. */
export function rejectPendingRequests(socket: Connection): void {
  const requests = socket._extras?.requests;
  if (requests === undefined) {
    return;
  }
  socket._extras!.requests = undefined;
  for (const request of requests.pending.values()) {
    clearTimeout(request.timer);
    request.reject(new SwitchboardError(ErrorCode.DISCONNECTED, 'The client disconnected before it acked.'));
  }
}
