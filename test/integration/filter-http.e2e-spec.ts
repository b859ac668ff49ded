import { Controller, Get, NotFoundException, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SwitchboardAdapter, WsExceptionFilter } from '../../lib/index.js';
import { RecordingLogger } from '../helpers/nest-app.js';

@Controller()
class PlainController {
  @Get('boom')
  boom(): never {
    throw new Error('secret internals at /srv/app/src/boom.ts');
  }

  @Get('missing-thing')
  missing(): never {
    throw new NotFoundException('No such thing');
  }

  @Get('fine')
  fine(): { ok: boolean } {
    return { ok: true };
  }
}

/**
 * `app.useGlobalFilters(new WsExceptionFilter())` without the HTTP adapter
 * argument (the short form users write) must leave plain HTTP answered as
 * Nest answers it, and never put a stack trace in a response.
 */
describe('a global WsExceptionFilter built without the HTTP adapter', () => {
  let app: INestApplication;
  let base: string;
  const logger = new RecordingLogger();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [PlainController] }).compile();
    app = moduleRef.createNestApplication({ logger });
    app.useWebSocketAdapter(new SwitchboardAdapter(app));
    app.useGlobalFilters(new WsExceptionFilter());
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(() => app.close());

  it('answers a route that does not exist with 404 in Nest shape', async () => {
    const response = await fetch(`${base}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ statusCode: 404 });
  });

  it('answers an HttpException with its status and body', async () => {
    const response = await fetch(`${base}/missing-thing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ statusCode: 404, message: 'No such thing', error: 'Not Found' });
  });

  it('answers an unexpected error with a bare 500, no stack or message, and logs it', async () => {
    const response = await fetch(`${base}/boom`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ statusCode: 500, message: 'Internal server error' });
    expect(text).not.toContain('secret');
    expect(text).not.toContain(' at ');
    expect(logger.errors().some((entry) => String(entry.message).includes('secret internals'))).toBe(true);
  });

  it('leaves successful routes alone', async () => {
    const response = await fetch(`${base}/fine`);
    expect(await response.json()).toEqual({ ok: true });
  });
});
