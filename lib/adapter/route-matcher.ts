import { match, type MatchFunction } from 'path-to-regexp';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { PathParams } from '../interfaces/handshake.interface.js';

/** Shared by every connection to a static path: no allocation per handshake. */
export const NO_PARAMS: PathParams = Object.freeze(Object.create(null) as PathParams);

/** True when a path uses path-to-regexp syntax (`:param`, `*wildcard`, `{optional}`). */
export function isPatternPath(path: string): boolean {
  return /[:*{}()]/.test(path);
}

/**
 * Compiles a pattern path (`/rooms/:room`, `/files/*rest`) once, at
 * bootstrap. Params are decoded with `decodeURIComponent`; a malformed
 * escape in the request makes the match fail (the router answers 400).
 */
export function compilePattern(path: string): MatchFunction<Record<string, string | string[]>> {
  try {
    return match<Record<string, string | string[]>>(path, { decode: decodeURIComponent, trailing: true });
  } catch (error) {
    throw new SwitchboardError(ErrorCode.INVALID_PATH, `The gateway path "${path}" is not a valid pattern: ${(error as Error).message}`);
  }
}
