import { brandClass } from '../utils/brand.js';
import type { ErrorCode } from './error-codes.js';

/**
 * The one error class the library throws or rejects with. `code` is stable
 * (see {@link ERROR_CODES}, which also gives each code's close code and
 * HTTP status); `message` is for humans and may change.
 */
export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

// One identity for the ESM and CJS copies of this class (see utils/brand).
brandClass(SwitchboardError, 'SwitchboardError');
