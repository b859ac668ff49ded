import type { ServerResponse } from 'node:http';
import { Catch, HttpException, Inject, Logger, Optional, type ArgumentsHost, type ExceptionFilter, type Type } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { EXCEPTION_EVENT } from '../constants.js';
import { describeException } from '../errors/describe-exception.js';
import { logUnexpected } from '../errors/log-unexpected.js';
import { brandClass } from '../utils/brand.js';
import { sendExceptionEvent } from '../outbound/outbound.js';
import { findPendingReply } from '../ack/pending-reply.js';
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
 * HTTP errors: those go to Nest's default HTTP handling, with the HTTP
 * adapter when it has one (`APP_FILTER` injects it) and otherwise answered
 * in Nest's shape by the filter itself; no response ever carries a stack.
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
      this.catchOther(exception, host);
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
      logUnexpected(logger, exception);
    }
    return body;
  }

  /**
   * HTTP (and other) errors go to Nest's default handling. A filter built
   * with `new WsExceptionFilter()` for `useGlobalFilters` has no HTTP adapter
   * (Nest injects `HttpAdapterHost` only into filters it instantiates), and
   * Nest's base filter would then crash into a 500 whose body is a stack
   * trace. Without an adapter, the answer is written to the response here,
   * in the shape Nest uses (`{ statusCode, message }`), never with a stack.
   */
  private catchOther(exception: unknown, host: ArgumentsHost): void {
    const adapter = this.applicationRef ?? this.httpAdapterHost?.httpAdapter;
    if (adapter !== undefined || host.getType() !== 'http') {
      super.catch(exception, host);
      return;
    }
    const { status, body } = httpAnswerFor(exception);
    if (status >= 500) {
      logUnexpected(logger, exception);
    }
    const response = host.switchToHttp().getResponse<{ raw?: ServerResponse } & Partial<ServerResponse>>();
    // Express hands Node's response itself, Fastify a reply wrapping it as `raw`.
    const raw = (response.raw ?? response) as ServerResponse;
    if (typeof raw.setHeader !== 'function' || raw.headersSent) {
      return;
    }
    const text = JSON.stringify(body);
    raw.statusCode = status;
    raw.setHeader('Content-Type', 'application/json; charset=utf-8');
    raw.setHeader('Content-Length', Buffer.byteLength(text));
    raw.end(text);
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

/** Status and body as Nest's BaseExceptionFilter answers HTTP: the exception's own response, or a bare 500. */
function httpAnswerFor(exception: unknown): { status: number; body: object } {
  if (exception instanceof HttpException) {
    const response = exception.getResponse();
    const status = exception.getStatus();
    return { status, body: typeof response === 'object' && response !== null ? response : { statusCode: status, message: response } };
  }
  return { status: 500, body: { statusCode: 500, message: 'Internal server error' } };
}

// One identity for the ESM and CJS copies of this class (see utils/brand): the global-filter lookup finds either.
brandClass(WsExceptionFilter, 'WsExceptionFilter');
