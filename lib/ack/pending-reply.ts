import { Logger } from '@nestjs/common';
import type { ErrorBody, MessageId } from '../interfaces/envelope.interface.js';
import type { Connection } from '../connection/connection.interface.js';
import { describeException } from '../errors/describe-exception.js';
import { logUnexpected } from '../errors/log-unexpected.js';
import { sendFailure, sendOkAck, sendValue } from '../outbound/outbound.js';

const logger = new Logger('SwitchboardAdapter');

/** Process-wide, so the ESM and CJS copies of the package find each other's replies. */
const kPendingReply = Symbol.for('nestjs-switchboard.pendingReply');

/** The ack function handed to handlers (Nest's `@Ack()` finds it among the arguments). */
export type AckFunction = ((response?: unknown) => void) & { readonly [kPendingReply]: PendingReply };

const NO_FAILURE = Symbol('switchboard.noFailure');

/**
 * The promise of exactly one answer to one message: settled once, by the
 * handler's result, by a manual `@Ack()` call, or by the first exception that
 * reaches Nest's exception handling for it. Later attempts are ignored.
 */
export class PendingReply {
  settled = false;
  /** The first exception Nest's exception handling saw for this message. */
  private failure: unknown = NO_FAILURE;
  readonly ack: AckFunction;

  constructor(
    readonly socket: Connection,
    /** `undefined` for a message without id whose handler acks by hand. */
    readonly id: MessageId | undefined,
  ) {
    const ack = ((response?: unknown) => this.resolve(response)) as AckFunction;
    Object.defineProperty(ack, kPendingReply, { value: this });
    this.ack = ack;
  }

  get failed(): boolean {
    return this.failure !== NO_FAILURE;
  }

  recordFailure(exception: unknown): void {
    if (this.failure === NO_FAILURE) {
      this.failure = exception;
    }
  }

  resolve(data: unknown): void {
    if (this.settled) {
      return;
    }
    this.settled = true;
    if (this.id === undefined) {
      if (data !== undefined && data !== null) {
        sendValue(this.socket, data);
      }
    } else {
      sendOkAck(this.socket, this.id, data);
      // Remembered for a repeat of this id after a reconnect (connection-state recovery).
      this.socket._extras?.session?.recordAck(this.id, { id: this.id, status: 'ok', data });
    }
  }

  reject(error: ErrorBody): void {
    if (this.settled) {
      return;
    }
    this.settled = true;
    sendFailure(this.socket, this.id, error);
    if (this.id !== undefined) {
      this.socket._extras?.session?.recordAck(this.id, { id: this.id, status: 'error', error });
    }
  }

  /**
   * Settles with the failure an application exception filter handled
   * without answering. That filter saw the error, so it is not logged again.
   */
  rejectWithRecordedFailure(): void {
    if (!this.settled) {
      this.reject(describeException(this.failure).body);
    }
  }

  /** Maps an exception onto an error answer; a server bug is logged once, with its stack. */
  rejectWithException(exception: unknown): void {
    if (this.settled) {
      return;
    }
    const { body, unexpected } = describeException(exception);
    if (unexpected) {
      logUnexpected(logger, exception);
    }
    this.reject(body);
  }
}

/** Finds the pending reply among the arguments of a Nest execution context. */
export function findPendingReply(args: readonly unknown[]): PendingReply | undefined {
  for (const arg of args) {
    if (typeof arg === 'function' && kPendingReply in arg) {
      return (arg as AckFunction)[kPendingReply];
    }
  }
  return undefined;
}
