/**
 * The layers of lib/, top to bottom: a folder may import its own layer and
 * the layers above it, never one below. Enforced by .dependency-cruiser.cjs
 * (in `npm test`); drawn in lib/README.md (test/unit/layout.spec.ts checks
 * that the drawing lists the same layers).
 */
const LAYERS = [
  ['constants.ts', 'utils', 'errors', 'interfaces'],
  ['internals', 'protocol', 'stats', 'options'],
  ['connection'],
  ['rooms', 'limits', 'liveness', 'broker'],
  ['outbound'],
  ['ack', 'requests', 'broadcast'],
  ['socket', 'cluster', 'hub'],
  ['dispatch', 'filters', 'interceptors', 'validation', 'auth', 'recovery'],
  ['adapter', 'module', 'redis', 'metrics', 'nats', 'client'],
  ['index.ts', 'testing'],
];

/** Imports that are forbidden inside one layer: (from, to). */
const SAME_LAYER_FORBIDDEN = [
  ['socket', 'hub'], // the server is given its broadcast target; it never reaches for the hub
  ['socket', 'cluster'],
  ['cluster', 'hub'], // the hub owns the cluster, not the other way round
  ['module', 'adapter'],
  ['metrics', 'module'], // the module starts the exporter; an exporter knows only the hub's stats
  ['metrics', 'adapter'],
  ['utils', 'errors'], // utils are leaves: errors may use them, not the other way round
];

module.exports = { LAYERS, SAME_LAYER_FORBIDDEN };
