import type { CloseCode } from '../constants.js';
import type { ErrorCode } from './error-codes.js';

/**
 * The one error class the library throws or rejects with. `code` is stable
 * (see {@link ERROR_CODES}); `message` is for humans and may change.
 */
export class SwitchboardError extends Error {
  override readonly name = 'SwitchboardError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly closeCode?: CloseCode,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
