/**
 * A JSON object, the only shape a protocol frame (or its `data`, `error`,
 * `rooms`) may have. Everything the server sends is checked with this before
 * a field is read, because the client must never throw on what arrives.
 */
export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
