import { WebSocket } from 'ws';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';

/**
 * One timer per gateway, not per socket. Each tick terminates the sockets
 * that have not shown a sign of life (a pong, or any message) since the
 * previous tick, then marks the others as unproven and pings them. A peer
 * that stopped answering is therefore gone within two intervals, and
 * `terminate()` (not `close()`, which would wait for a close handshake the
 * dead peer never sends) makes its `close` event, and Nest's
 * `handleDisconnect`, run at once.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  /** Sockets terminated for missing a pong. */
  timeouts = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly sockets: () => Iterable<SwitchboardSocket>,
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
      if (!socket._alive) {
        this.timeouts++;
        socket.terminate();
        continue;
      }
      socket._alive = false;
      socket.ping();
    }
  }
}

/** Registered on each socket when the heartbeat is on (no closure: `this` is the socket). */
export function onSocketPong(this: WebSocket): void {
  (this as SwitchboardSocket)._alive = true;
}
