import type { QueryParams } from '../interfaces/handshake.interface.js';

const NO_QUERY: QueryParams = Object.freeze(Object.create(null) as QueryParams);

/**
 * Parses a query string into an object without a prototype (so keys such as
 * `__proto__` are plain data). A key given several times maps to an array.
 */
export function parseQueryString(search: string): QueryParams {
  if (search.length === 0) {
    return NO_QUERY;
  }
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const [key, value] of new URLSearchParams(search)) {
    const existing = query[key];
    if (existing === undefined) {
      query[key] = value;
    } else if (Array.isArray(existing)) {
      existing.push(value);
    } else {
      query[key] = [existing, value];
    }
  }
  return query;
}
