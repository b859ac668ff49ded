import { gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';

/**
 * The browser bundle of nestjs-switchboard/client, built in memory the way
 * `npm run build` builds dist/browser/client.js (scripts/build-client.mjs):
 * at most 5 KiB minified and gzipped, and free of Node and server code.
 */
describe('the browser bundle of the client', () => {
  it('is at most 5 KiB min+gzip, one ES module, with nothing from Node or the server', async () => {
    const { buildClient } = (await import('../../scripts/build-client.mjs' as string)) as {
      buildClient(overrides: object): Promise<{ outputFiles: Array<{ path: string; text: string; contents: Uint8Array }> }>;
    };
    const { outputFiles } = await buildClient({ write: false });
    const bundle = outputFiles.find((file) => file.path.endsWith('client.js'))!;
    const map = outputFiles.find((file) => file.path.endsWith('client.js.map'))!;
    const gzipped = gzipSync(bundle.contents, { level: 9 }).length;
    console.log(`dist/browser/client.js: ${bundle.contents.length} B minified, ${gzipped} B min+gzip`);
    expect(gzipped).toBeLessThanOrEqual(5 * 1024);

    expect(bundle.text).toMatch(/^var |^const |^let |^function |^class /);
    expect(bundle.text).toMatch(/export\{[^}]*SwitchboardClient[^}]*\}/);
    expect(bundle.text).not.toMatch(/\bimport\s*\(|\brequire\s*\(|from\s*["']/); // no import of anything (ws included)
    expect(bundle.text).not.toMatch(/node:|process\.|Buffer/);
    expect(bundle.text).not.toContain('SwitchboardError'); // the server's error class
    // Only lib/client/ and the stub of the Node loader went in.
    const sources = (JSON.parse(map.text) as { sources: string[] }).sources;
    expect(sources.filter((source) => !/lib\/client\/[\w-]+\.ts$/.test(source))).toEqual(['browser-stub:node-web-socket']);
  });
});
