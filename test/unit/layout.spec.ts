import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';

/**
 * lib/README.md draws the layers of lib/; scripts/lib-layers.cjs lists them
 * for dependency-cruiser, which enforces them. This keeps the drawing and
 * the list the same, and every folder of lib/ in exactly one layer.
 */
const { LAYERS, SAME_LAYER_FORBIDDEN } = createRequire(import.meta.url)('../../scripts/lib-layers.cjs') as {
  LAYERS: string[][];
  SAME_LAYER_FORBIDDEN: Array<[string, string]>;
};

const libDir = new URL('../../lib/', import.meta.url);

/** The numbered list under "## Layers": for each item, the backticked names before its first colon. */
function layersOfReadme(): string[][] {
  const readme = readFileSync(new URL('README.md', libDir), 'utf8');
  const start = readme.search(/^## Layers\s*$/m);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = readme.slice(start).split('\n').slice(1);
  const end = rest.findIndex((line) => line.startsWith('## '));
  const section = end === -1 ? rest : rest.slice(0, end);
  const layers: string[][] = [];
  for (const line of section) {
    const item = /^(\d+)\. (.*)$/.exec(line);
    if (item === null) {
      continue;
    }
    expect(Number(item[1])).toBe(layers.length + 1); // numbered in order, none skipped
    const head = item[2].split(/:\s/)[0];
    layers.push([...head.matchAll(/`([^`]+)`/g)].map((match) => match[1]));
  }
  return layers;
}

/** The entries of lib/ a layer can name: its folders and its top-level .ts files. */
function libEntries(): string[] {
  return readdirSync(libDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() || entry.name.endsWith('.ts'))
    .map((entry) => entry.name)
    .sort();
}

describe('the layers of lib/', () => {
  it('lib/README.md lists the same layers as scripts/lib-layers.cjs, in the same order', () => {
    expect(layersOfReadme()).toEqual(LAYERS);
  });

  it('every folder and top-level file of lib/ is in exactly one layer', () => {
    const listed = LAYERS.flat();
    const counts = new Map<string, number>();
    for (const name of listed) {
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    expect([...counts].filter(([, count]) => count !== 1)).toEqual([]);
    expect([...listed].sort()).toEqual(libEntries());
  });

  it('the same-layer exceptions name folders of one layer', () => {
    for (const [from, to] of SAME_LAYER_FORBIDDEN) {
      const layer = LAYERS.find((names) => names.includes(from));
      expect(layer).toBeDefined();
      expect(layer).toContain(to);
    }
  });
});
