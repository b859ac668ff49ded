import type { Logger } from '@nestjs/common';
import { ErrorCode } from './error-codes.js';
import type { ErrorBody } from '../interfaces/envelope.interface.js';

/** The one answer a client gets for a server bug: a stable code and a generic message, never the bug's own text. */
export const INTERNAL_ERROR_BODY: Readonly<ErrorBody> = Object.freeze({ code: ErrorCode.INTERNAL, message: 'Internal server error' });

/**
 * Logs a server bug once, at error level, with its stack: the one way the
 * library reports an error it did not expect (a client's bad input is never
 * logged this way).
 */
export function logUnexpected(logger: Logger, error: unknown, context?: string): void {
  const message = error instanceof Error ? error.message : String(error);
  logger.error(context === undefined ? message : `${context}: ${message}`, error instanceof Error ? error.stack : undefined);
}
