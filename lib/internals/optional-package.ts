import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';

/**
 * Loads an optional peer dependency on first use, so that users who do not
 * need it never install it. A missing package becomes a coded error that
 * says what to install.
 */
export async function loadOptionalPackage<T>(name: string, feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new SwitchboardError(
        ErrorCode.MISSING_PACKAGE,
        `The "${name}" package is missing; ${feature} needs it. Install it: npm install ${name}`,
      );
    }
    throw error;
  }
}
