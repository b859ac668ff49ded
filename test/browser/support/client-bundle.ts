import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/**
 * The client's browser bundle, built from lib/client with the project's own
 * script (scripts/build-client.mjs) into a temporary directory: the tests
 * never read dist/, which other test runs rebuild.
 */
export class ClientBundle {
  private constructor(readonly dir: string) {}

  static async build(): Promise<ClientBundle> {
    const dir = mkdtempSync(join(tmpdir(), 'sb-client-bundle-'));
    const script: string = join(ROOT, 'scripts/build-client.mjs');
    const { buildClient } = (await import(script)) as { buildClient(overrides: object): Promise<unknown> };
    await buildClient({ outfile: join(dir, 'client.js'), logLevel: 'error' });
    return new ClientBundle(dir);
  }

  get file(): string {
    return join(this.dir, 'client.js');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
