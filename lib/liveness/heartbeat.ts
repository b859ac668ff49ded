import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { GatewayStats } from '../socket/gateway-stats.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';

/**
 * One timer per gateway, not per socket. Each tick terminates the sockets
 * that have not shown a sign of life since the previous tick, and pings the
 * others. A sign of life is any byte read from the peer (a pong, a message):
 * comparing the TCP socket's `bytesRead` needs no listener and no work per
 * message, only one number per socket. A peer
 * that stopped answering is therefore gone within two intervals, and
 * `terminate()` (not `close()`, which would wait for a close handshake the
 * dead peer never sends) makes its `close` event, and Nest's
 * `handleDisconnect`, run at once.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly sockets: () => Iterable<SwitchboardSocket>,
    /** Where terminations are counted (`heartbeatTimeouts`). */
    private readonly stats: GatewayStats,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer !== undefined || this.intervalMs <= 0) {
      return;
    }
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // The heartbeat must never be what keeps a process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    for (const socket of this.sockets()) {
      if (socket.readyState !== WebSocket.OPEN) {
        continue;
      }
      const bytesRead = (socket as unknown as { _socket?: Socket })._socket?.bytesRead ?? 0;
      if (bytesRead === socket._bytesSeen) {
        this.stats.heartbeatTimeouts++;
        socket.terminate();
        continue;
      }
      socket._bytesSeen = bytesRead;
      socket.ping();
    }
  }
}

