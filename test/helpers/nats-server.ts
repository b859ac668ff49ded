import { get } from 'node:http';
import { connect } from 'node:net';
import { freePort } from './ports.js';
import { ServerProcess } from './server-process.js';

/** One connection as the monitoring endpoint `/connz?subs=1` reports it. */
export interface NatsConnz {
  num_connections: number;
  connections: Array<{ cid: number; name?: string; subscriptions: number; subscriptions_list?: string[] }>;
}

/**
 * A real `nats-server` for a test, on free ports of 127.0.0.1 (clients and
 * HTTP monitoring), stopped by pid. `kill()` is `kill -9` (the crash drill);
 * `restart()` starts it again on the same ports.
 */
export class NatsProcess extends ServerProcess {
  protected readonly executable = 'nats-server';

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    private readonly extraArgs: readonly string[],
  ) {
    super();
  }

  static async start(extraArgs: readonly string[] = []): Promise<NatsProcess> {
    const nats = new NatsProcess(await freePort(), await freePort(), extraArgs);
    await nats.spawn();
    return nats;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** GET on the monitoring endpoint, parsed as JSON. */
  async monitor<T>(path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const request = get({ host: '127.0.0.1', port: this.monitorPort, path, timeout: 5000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()) as T);
          } catch (error) {
            reject(error as Error);
          }
        });
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
      request.on('error', reject);
    });
  }

  /** Every subject the server's client connections are subscribed to (`/connz?subs=1`). */
  async clientSubjects(): Promise<string[]> {
    const connz = await this.monitor<NatsConnz>('/connz?subs=1&limit=1024');
    return connz.connections.flatMap((connection) => connection.subscriptions_list ?? []);
  }

  /** The server's `/subsz` `num_subscriptions` (client subscriptions plus the server's own internal ones). */
  async numSubscriptions(): Promise<number> {
    return (await this.monitor<{ num_subscriptions: number }>('/subsz')).num_subscriptions;
  }

  protected args(): readonly string[] {
    return ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort), ...this.extraArgs];
  }

  protected async answers(): Promise<boolean> {
    return (await this.greets()) && (await this.monitor('/varz').then(() => true, () => false));
  }

  /** Whether the client port answers with the INFO line every NATS server greets with. */
  private greets(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 1000);
      socket.once('data', (chunk: Buffer) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(chunk.toString().startsWith('INFO '));
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }
}
