/**
 * The house rules of lib/, checked by `npm run check:imports` (part of `npm test`):
 * no import cycle (type imports included), and each folder imports only the
 * folders of its own layer or of the layers above it. lib/README.md draws the
 * same layers; test/unit/layout.spec.ts keeps the two in step.
 */
const { LAYERS, SAME_LAYER_FORBIDDEN } = require('./scripts/lib-layers.cjs');



const folder = (name) => (name.endsWith('.ts') ? `^lib/${name.replace('.', '\\.')}$` : `^lib/${name}/`);
const anyOf = (names) => names.map(folder).join('|');

const layerRules = LAYERS.flatMap((layer, index) => {
  const below = LAYERS.slice(index + 1).flat();
  if (below.length === 0) {
    return [];
  }
  return [
    {
      name: `layer-${index + 1}-imports-only-upward`,
      comment: `${layer.join(', ')} may not import ${below.join(', ')} (a lower layer)`,
      severity: 'error',
      from: { path: anyOf(layer) },
      to: { path: anyOf(below) },
    },
  ];
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle in lib/, type-only imports included.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    {
      name: 'runtime-never-imports-testing',
      severity: 'error',
      from: { path: '^lib/', pathNot: '^lib/testing/' },
      to: { path: '^lib/testing/' },
    },
    {
      name: 'client-imports-only-client-and-interfaces',
      comment: 'lib/client/ is bundled for browsers: it may import lib/client/ and (types from) lib/interfaces/, no server code.',
      severity: 'error',
      from: { path: '^lib/client/' },
      to: { path: '^lib/', pathNot: '^lib/(client|interfaces)/' },
    },
    ...layerRules,
    ...SAME_LAYER_FORBIDDEN.map(([from, to]) => ({
      name: `${from}-never-imports-${to}`,
      severity: 'error',
      from: { path: folder(from) },
      to: { path: folder(to) },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^lib/',
    // Type-only imports count: a cycle of types is still a cycle of concepts.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};

