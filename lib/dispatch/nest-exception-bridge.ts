import type { ArgumentsHost } from '@nestjs/common';
import { BaseWsExceptionFilter } from '@nestjs/websockets';
import { handlerFiltersOf, WsExceptionsHandler } from '../internals/nest.js';
import { SwitchboardSocket } from '../socket/switchboard-socket.js';
import { findPendingReply } from '../ack/pending-reply.js';

/**
 * Marks Nest's prototype once the bridge is on it: process-wide, so that the
 * ESM and CJS copies of this package never wrap it twice.
 */
const kBridgeInstalled = Symbol.for('nestjs-switchboard.exceptionBridge');

/** Whether one of the handler's own filters (`@UseFilters`) catches this exception. */
function handledByLocalFilter(handler: WsExceptionsHandler, exception: unknown): boolean {
  return handlerFiltersOf(handler).some(({ exceptionMetatypes }) => exceptionMetatypes.length === 0 || exceptionMetatypes.some((type) => exception instanceof type));
}

/**
 * Routes Nest's exception handling into protocol v1 for messages that carry
 * an id, so that such a message gets exactly one frame for its failure: the
 * error ack, without the separate `exception` event and without the echo of
 * the client's payload that Nest's default filter sends.
 *
 * Nest gives adapters no hook between its exception filters and the client,
 * and its default filter writes to the socket directly, so the bridge wraps
 * two prototype methods, once per process:
 * - `WsExceptionsHandler#handle` notes that the message failed, so that an
 *   application filter that swallows the error still yields an error ack;
 * - `BaseWsExceptionFilter#catch` (Nest's default answer, and the `super.catch`
 *   of filters extending it) answers with the error ack instead of the event.
 *
 * Both act only when the execution context carries this adapter's pending
 * reply (its ack function) or socket; every other context, including
 * socket.io gateways in the same app, takes Nest's own path untouched.
 * `handle` is also where a global `WsExceptionFilter` is applied, which Nest
 * itself never does for gateways.
 */
export function installNestExceptionBridge(): void {
  const marked = WsExceptionsHandler.prototype as unknown as Record<symbol, boolean>;
  if (marked[kBridgeInstalled] === true) {
    return;
  }
  marked[kBridgeInstalled] = true;

  const handle = WsExceptionsHandler.prototype.handle;
  WsExceptionsHandler.prototype.handle = function (this: WsExceptionsHandler, exception: Error, host: ArgumentsHost): void {
    const args = host.getArgs();
    findPendingReply(args)?.recordFailure(exception);
    const client: unknown = args[0];
    if (client instanceof SwitchboardSocket && client._server !== undefined) {
      client._server.stats.handlerErrors++;
      // Filters on the gateway or handler come first; then a global WsExceptionFilter.
      if (!handledByLocalFilter(this, exception)) {
        const globalFilter = client._server.globalWsFilter?.(exception);
        if (globalFilter !== undefined) {
          globalFilter.catch(exception, host);
          return;
        }
      }
    }
    handle.call(this, exception, host);
  };

  // Typed loosely on purpose: the signature of `catch` differs between Nest 11 and 12.
  const prototype = BaseWsExceptionFilter.prototype as unknown as { catch: (exception: unknown, host: ArgumentsHost) => void };
  const originalCatch = prototype.catch;
  prototype.catch = function (this: BaseWsExceptionFilter, exception: unknown, host: ArgumentsHost): void {
    const reply = findPendingReply(host.getArgs());
    if (reply !== undefined && reply.id !== undefined && !reply.settled) {
      reply.rejectWithException(exception);
      return;
    }
    originalCatch.call(this, exception, host);
  };
}
