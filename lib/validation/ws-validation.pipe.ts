import { Injectable, Optional, ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import { issuesFromClassValidator, type ClassValidatorError } from '../errors/validation-issue.js';

/**
 * An `exceptionFactory` for Nest's `ValidationPipe` that keeps the findings
 * field by field: the client gets `VALIDATION_FAILED` with `details` as
 * `[{ field, messages, constraints }]`, nested DTOs as dotted fields.
 */
export function wsValidationExceptionFactory(errors: ClassValidatorError[]): SwitchboardError {
  return new SwitchboardError(ErrorCode.VALIDATION_FAILED, 'Validation failed', issuesFromClassValidator(errors));
}

/**
 * Nest's `ValidationPipe` (class-validator), answering with field-by-field
 * details. Every `ValidationPipe` option works; `exceptionFactory` defaults
 * to {@link wsValidationExceptionFactory}.
 *
 * ```ts
 * @UsePipes(new WsValidationPipe({ whitelist: true }))
 * @SubscribeMessage('create')
 * create(@MessageBody() dto: CreateRoomDto) { ... }
 * ```
 */
@Injectable()
export class WsValidationPipe extends ValidationPipe {
  constructor(@Optional() options: ValidationPipeOptions = {}) {
    super({ exceptionFactory: (errors) => wsValidationExceptionFactory(errors as ClassValidatorError[]), ...options });
  }
}
