import type { INestApplication, LoggerService, LogLevel, Provider, Type, WebSocketAdapter } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SwitchboardAdapter } from '../../lib/index.js';

export type AdapterFactory = (app: INestApplication) => WebSocketAdapter;

export const switchboard: AdapterFactory = (app) => new SwitchboardAdapter(app);

export interface RunningApp {
  app: INestApplication;
  port: number;
  url(path?: string): string;
  close(): Promise<void>;
}

/**
 * Boots a Nest application with the given gateways on 127.0.0.1 and an
 * ephemeral port. The logger is off unless a test asks for levels or passes
 * its own logger (to assert on what gets logged).
 */
export async function startApp(options: {
  providers: Array<Type | Provider>;
  adapter?: AdapterFactory;
  logger?: LogLevel[] | LoggerService | false;
  listen?: boolean;
}): Promise<RunningApp> {
  const moduleRef = await Test.createTestingModule({ providers: options.providers }).compile();
  const app = moduleRef.createNestApplication({ logger: options.logger ?? false });
  app.useWebSocketAdapter((options.adapter ?? switchboard)(app));
  let port = 0;
  if (options.listen === false) {
    await app.init();
  } else {
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  }
  return {
    app,
    port,
    url: (path = '/') => `ws://127.0.0.1:${port}${path}`,
    close: () => app.close(),
  };
}

/** A logger that records what it is given, for tests that assert on logging. */
export class RecordingLogger implements LoggerService {
  readonly entries: Array<{ level: string; message: unknown; rest: unknown[] }> = [];
  log(message: unknown, ...rest: unknown[]): void {
    this.entries.push({ level: 'log', message, rest });
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.entries.push({ level: 'error', message, rest });
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.entries.push({ level: 'warn', message, rest });
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.entries.push({ level: 'debug', message, rest });
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.entries.push({ level: 'verbose', message, rest });
  }
  errors(): Array<{ level: string; message: unknown; rest: unknown[] }> {
    return this.entries.filter((entry) => entry.level === 'error');
  }
}
