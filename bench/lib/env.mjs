// Reading benchmark parameters from the environment, shared by bench/lib/config.mjs and
// bench/cross-node/config.mjs: a bad value stops the run with its name rather than measuring nonsense.

/** A positive number (a positive integer with `integer: true`), or `fallback` when unset. */
export function numberEnv(name, fallback, { integer = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!(integer ? Number.isSafeInteger(value) : Number.isFinite(value)) || value <= 0) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  }
  return value;
}

/** A comma-separated list, or `fallback` when unset. */
export function listEnv(name, fallback) {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? fallback : raw.split(',').map((item) => item.trim()).filter(Boolean);
}
