import type { INestApplication, LoggerService, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer, WsException } from '@nestjs/websockets';
import { SwitchboardAdapter, SwitchboardModule, type SwitchboardModuleOptions, type SwitchboardServer, type SwitchboardSocket } from '../../lib/index.js';
import { SwitchboardHub } from '../../lib/hub/switchboard-hub.js';

/** The gateway most metrics tests talk to: echo, a failing handler, rooms, broadcasts, a server-side close. */
@WebSocketGateway({ path: '/m' })
export class MetricsGateway {
  @WebSocketServer()
  server!: SwitchboardServer;

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): unknown {
    return data;
  }

  @SubscribeMessage('fail')
  fail(): never {
    throw new WsException('no');
  }

  @SubscribeMessage('join')
  async join(@ConnectedSocket() client: SwitchboardSocket, @MessageBody() room: string): Promise<string> {
    await client.join(room);
    return client.id;
  }

  /** To everyone in a room, the sender included: answers with the number of local recipients. */
  @SubscribeMessage('shout')
  shout(@MessageBody() body: { room: string; text: string }): number {
    return this.server.to(body.room).emit('news', body.text);
  }

  /** The server closes this connection with the code asked for. */
  @SubscribeMessage('bye')
  bye(@ConnectedSocket() client: SwitchboardSocket, @MessageBody() code: number): void {
    setTimeout(() => client.close(code, 'bye'), 10);
  }
}

/** Five messages a second, a burst of five, closed after ten refusals in a row. */
@WebSocketGateway({ path: '/limited', rateLimit: { messagesPerSecond: 5, burst: 5, closeAfter: 10 } })
export class LimitedGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): unknown {
    return data;
  }
}

/** A quick heartbeat: a client that does not answer pings is gone within ~200 ms. */
@WebSocketGateway({ path: '/beat', heartbeatInterval: 100 })
export class BeatGateway {}

export interface MetricsApp {
  app: INestApplication;
  port: number;
  hub: SwitchboardHub;
  url(path: string): string;
  /** GETs a path of the app's HTTP server: status, content type and body. */
  get(path: string): Promise<{ status: number; contentType: string | null; body: string }>;
  close(): Promise<void>;
}

/** A Nest app on Express at 127.0.0.1 with SwitchboardModule (the options given) and the gateways. */
export async function startMetricsApp(options: SwitchboardModuleOptions, gateways: Type[] = [MetricsGateway], logger: LoggerService | false = false): Promise<MetricsApp> {
  const moduleRef = await Test.createTestingModule({ imports: [SwitchboardModule.forRoot(options)], providers: gateways }).compile();
  const app = moduleRef.createNestApplication({ logger });
  app.useWebSocketAdapter(new SwitchboardAdapter(app));
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return {
    app,
    port,
    hub: app.get(SwitchboardHub),
    url: (path) => `ws://127.0.0.1:${port}${path}`,
    get: async (path) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: response.status, contentType: response.headers.get('content-type'), body: await response.text() };
    },
    close: () => app.close(),
  };
}

/** One sample line of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads the sample lines of a Prometheus exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) {
      throw new Error(`Not an exposition line: ${line}`);
    }
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1]] = label[2].replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    }
    samples.push({ name: match[1], labels, value: match[3] === '+Inf' ? Infinity : Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and (at least) these labels; undefined when there is none. */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  if (matching.length > 1) {
    throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}: ${JSON.stringify(matching)}`);
  }
  return matching[0]?.value;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the check passes (or throws its last failure after `timeoutMs`). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
      await sleep(20);
    }
  }
}
