import { Controller, Get, Header, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository's root, from sample/src/web (sources) or sample/dist/web (built). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PUBLIC = `${ROOT}sample/public/`;

/**
 * The chat page: plain HTML and JavaScript from sample/public, and the
 * client's browser build (`nestjs-switchboard/client`, dist/browser/client.js
 * from `npm run build`; SAMPLE_CLIENT_JS points elsewhere).
 */
@Controller()
export class WebController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  index(): string {
    return this.file('index.html');
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  app(): string {
    return this.file('app.js');
  }

  @Get('style.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  style(): string {
    return this.file('style.css');
  }

  @Get('client.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  client(): string {
    const path = this.clientPath();
    if (!existsSync(path)) {
      throw new ServiceUnavailableException(`No client bundle at ${path}: run \`npm run build\` (or \`node scripts/build-client.mjs\`).`);
    }
    return readFileSync(path, 'utf8');
  }

  @Get('client.js.map')
  @Header('Content-Type', 'application/json')
  clientMap(): string {
    const path = `${this.clientPath()}.map`;
    if (!existsSync(path)) {
      throw new NotFoundException();
    }
    return readFileSync(path, 'utf8');
  }

  /** The other instances the page may reconnect to (`SAMPLE_PEERS=127.0.0.1:3001,127.0.0.1:3002`). */
  @Get('config.json')
  @Header('Cache-Control', 'no-store')
  config(): { peers: string[] } {
    return { peers: (process.env.SAMPLE_PEERS ?? '').split(',').map((peer) => peer.trim()).filter(Boolean) };
  }

  private clientPath(): string {
    return process.env.SAMPLE_CLIENT_JS ?? `${ROOT}dist/browser/client.js`;
  }

  private file(name: string): string {
    return readFileSync(PUBLIC + name, 'utf8');
  }
}
