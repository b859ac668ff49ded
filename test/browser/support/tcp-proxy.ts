import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one instance, to cut one page's
 * connection for real: `cut()` resets every connection through it (the
 * browser and the server both see the TCP connection die) and resets each
 * new one at once, until `restore()`. Other pages, connected directly, are
 * not touched.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private cutting = false;
  /** Connections reset while cut (the client's reconnect attempts). */
  refused = 0;
  /** Connections passed through. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.accept(client, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get ws(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Resets every connection through the proxy, and every new one until restore(). */
  cut(): void {
    this.cutting = true;
    for (const socket of this.sockets) {
      socket.resetAndDestroy();
    }
    this.sockets.clear();
  }

  restore(): void {
    this.cutting = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.cutting) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}
