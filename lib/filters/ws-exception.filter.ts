import { Catch, Inject, Logger, Optional, type ArgumentsHost, type ExceptionFilter, type Type } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { EXCEPTION_EVENT } from '../constants.js';
import { describeException } from '../dispatch/exception-to-error-body.js';
import { sendExceptionEvent } from '../dispatch/outbound.js';
import { findPendingReply } from '../dispatch/pending-reply.js';
import type { ErrorBody } from '../interfaces/envelope.interface.js';
import { SwitchboardSocket } from '../socket/switchboard-socket.js';

/** Maps an application exception onto an error body (return undefined to let the next mapper or the default decide). */
export type ExceptionMapper<T = unknown> = (exception: T, host: ArgumentsHost) => ErrorBody | undefined;

export interface WsExceptionFilterOptions {
  /**
   * Mappers for your own exceptions, tried in order before the defaults:
   * `[[InsufficientFunds, (e) => ({ code: 'INSUFFICIENT_FUNDS', message: e.message })]]`.
   */
  mappers?: ReadonlyArray<readonly [Type<unknown>, ExceptionMapper<never>]>;
}

/** Injection token for the filter's options when it is provided through `APP_FILTER`. */
export const WS_EXCEPTION_FILTER_OPTIONS = Symbol('WS_EXCEPTION_FILTER_OPTIONS');

/** Never provided: keeps DI from resolving the constructor's HTTP adapter argument (Nest injects `httpAdapterHost` itself). */
const WS_EXCEPTION_FILTER_HTTP_ADAPTER = Symbol('WS_EXCEPTION_FILTER_HTTP_ADAPTER');

const logger = new Logger('WsExceptionFilter');

/**
 * Maps everything a gateway handler, guard, pipe or interceptor throws onto
 * protocol v1: an error ack when the message carried an `id`, otherwise an
 * `exception` event `{ status: 'error', code, message, details? }`.
 *
 * - `WsException('text')` → `BAD_REQUEST` (`FORBIDDEN` for a denied guard);
 *   `WsException({ code, message, details })` keeps its own code;
 * - `HttpException`s by status (`UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, ...);
 * - validation failures → `VALIDATION_FAILED` with `details` field by field;
 * - anything else → `INTERNAL` / `Internal server error`, logged once with its stack.
 *
 * The client's payload is never echoed back. Use it with `@UseFilters`,
 * `app.useGlobalFilters` or `APP_FILTER`. Registered globally it also sees
 * HTTP errors: those go to Nest's default HTTP handling (pass the HTTP
 * adapter, `new WsExceptionFilter({}, app.get(HttpAdapterHost).httpAdapter)`,
 * or use `APP_FILTER`, which injects it).
 *
 * Extend it: add mappers, or override `toErrorBody` / `decorate` (for
 * example to add a correlation id to every error).
 */
@Catch()
export class WsExceptionFilter extends BaseExceptionFilter implements ExceptionFilter {
  private readonly mappers: ReadonlyArray<readonly [Type<unknown>, ExceptionMapper<never>]>;

  constructor(
    @Optional() @Inject(WS_EXCEPTION_FILTER_OPTIONS) options: WsExceptionFilterOptions = {},
    @Optional() @Inject(WS_EXCEPTION_FILTER_HTTP_ADAPTER) applicationRef?: ConstructorParameters<typeof BaseExceptionFilter>[0],
  ) {
    super(applicationRef);
    this.mappers = options?.mappers ?? [];
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'ws') {
      super.catch(exception, host);
      return;
    }
    const body = this.decorate(this.toErrorBody(exception, host), exception, host);
    const reply = findPendingReply(host.getArgs());
    if (reply !== undefined && reply.id !== undefined) {
      reply.reject(body);
      return;
    }
    this.sendEvent(host.switchToWs().getClient(), body);
  }

  /** The error body for an exception: your mappers first, then the defaults (which log server bugs). */
  protected toErrorBody(exception: unknown, host: ArgumentsHost): ErrorBody {
    for (const [type, mapper] of this.mappers) {
      if (exception instanceof type) {
        const mapped = (mapper as ExceptionMapper<unknown>)(exception, host);
        if (mapped !== undefined) {
          return mapped;
        }
      }
    }
    const { body, unexpected } = describeException(exception);
    if (unexpected) {
      logger.error(exception instanceof Error ? exception.message : String(exception), exception instanceof Error ? exception.stack : undefined);
    }
    return body;
  }

  /** A last look at every error body before it is sent (add fields here). */
  protected decorate(body: ErrorBody, _exception: unknown, _host: ArgumentsHost): ErrorBody {
    return body;
  }

  /** The `exception` event, on this adapter's sockets and on any `ws`-like or socket.io client. */
  private sendEvent(client: unknown, body: ErrorBody): void {
    if (client instanceof SwitchboardSocket) {
      sendExceptionEvent(client, body);
      return;
    }
    const socket = client as { readyState?: unknown; send?: (data: string) => void; emit?: (event: string, data: unknown) => void };
    const data = { status: 'error', ...body };
    if (typeof socket.readyState === 'number' && typeof socket.send === 'function') {
      if (socket.readyState === 1) {
        socket.send(JSON.stringify({ event: EXCEPTION_EVENT, data }));
      }
    } else if (typeof socket.emit === 'function') {
      socket.emit(EXCEPTION_EVENT, data);
    }
  }
}
