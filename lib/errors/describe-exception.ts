import { HttpException, IntrinsicException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { ErrorCode } from './error-codes.js';
import { INTERNAL_ERROR_BODY } from './log-unexpected.js';
import { SwitchboardError } from './switchboard.error.js';
import type { ErrorBody } from '../interfaces/envelope.interface.js';
import { issuesFromMessages } from './validation-issue.js';

/** Nest's message for a failed guard (`FORBIDDEN_MESSAGE` in @nestjs/core). */
const GUARD_DENIED_MESSAGE = 'Forbidden resource';

const CODE_BY_HTTP_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: ErrorCode.BAD_REQUEST,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  409: ErrorCode.CONFLICT,
  422: ErrorCode.VALIDATION_FAILED,
  429: ErrorCode.RATE_LIMITED,
};

export interface DescribedException {
  body: ErrorBody;
  /** A server bug rather than an answer the application chose: log it with its stack. */
  unexpected: boolean;
}

/**
 * Maps whatever a handler, guard, pipe or interceptor threw onto the error
 * body of protocol v1. The client's payload is never part of the answer,
 * and errors the application did not mean to show get a generic message.
 */
export function describeException(exception: unknown): DescribedException {
  if (exception instanceof SwitchboardError) {
    return { body: withDetails({ code: exception.code, message: exception.message }, exception.details), unexpected: false };
  }
  if (exception instanceof WsException) {
    return { body: describeWsError(exception.getError()), unexpected: false };
  }
  if (exception instanceof HttpException) {
    return { body: describeHttpException(exception), unexpected: exception.getStatus() >= 500 };
  }
  return {
    body: { ...INTERNAL_ERROR_BODY },
    unexpected: !(exception instanceof IntrinsicException),
  };
}

function describeWsError(error: unknown): ErrorBody {
  if (typeof error === 'string') {
    return { code: error === GUARD_DENIED_MESSAGE ? ErrorCode.FORBIDDEN : ErrorCode.BAD_REQUEST, message: error };
  }
  if (typeof error === 'object' && error !== null) {
    const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
    return withDetails(
      {
        code: typeof code === 'string' && code.length > 0 ? code : ErrorCode.BAD_REQUEST,
        message: typeof message === 'string' ? message : 'Bad request',
      },
      details,
    );
  }
  return { code: ErrorCode.BAD_REQUEST, message: 'Bad request' };
}

function describeHttpException(exception: HttpException): ErrorBody {
  const status = exception.getStatus();
  if (status >= 500) {
    return { ...INTERNAL_ERROR_BODY };
  }
  const response = exception.getResponse();
  const code = CODE_BY_HTTP_STATUS[status] ?? ErrorCode.BAD_REQUEST;
  if (typeof response === 'object' && response !== null) {
    const { message } = response as { message?: unknown };
    // Nest's validation pipes report their findings as an array of messages.
    if (Array.isArray(message)) {
      return { code: ErrorCode.VALIDATION_FAILED, message: 'Validation failed', details: issuesFromMessages(message) };
    }
    if (typeof message === 'string') {
      return { code, message };
    }
  }
  return { code, message: exception.message };
}

function withDetails(body: ErrorBody, details: unknown): ErrorBody {
  if (details !== undefined) {
    body.details = details;
  }
  return body;
}
