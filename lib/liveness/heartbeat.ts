import { Logger } from '@nestjs/common';
import { WebSocket } from 'ws';
import type { GatewayStats } from '../stats/gateway-stats.js';
import type { Connection } from '../connection/connection.interface.js';
import { tcpSocketOf } from '../internals/ws.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * A tick that fires more than this share of an interval after it was due
 * means the event loop was blocked (or the process starved) around the
 * moment peers were to be judged. Timer jitter is far below it (a quarter
 * of the default 30 s is 7.5 s).
 */
const LATE_SHARE = 0.25;
/**
 * After a late tick the verdict is postponed by this share of an interval:
 * long enough for a peer that was frozen with us (same process, same starved
 * machine) to read the ping it already has and answer, short enough that a
 * dead peer is still gone within two intervals of normal (unblocked) time
 * after its last byte, a tenth more when a late tick postponed its verdict.
 */
const GRACE_SHARE = 0.1;
/**
 * Late ticks in a row whose verdict is postponed. The next late one judges
 * anyway: a server that is late on every tick must still shed dead peers,
 * and its verdicts stay fair to remote peers because they are taken after
 * the loop has read what arrived (see `onTimer`).
 */
const MAX_POSTPONED = 3;

/** Monotonic milliseconds, looked up at each call so that fake timers that fake `performance` apply. */
const monotonicNow = (): number => performance.now();

/**
 * One timer per gateway, not per socket. Each verdict terminates the sockets
 * that have not shown a sign of life since the previous verdict, and pings
 * the others. A sign of life is any byte read from the peer (a pong, a
 * message): comparing the TCP socket's `bytesRead` needs no listener and no
 * work per message, only one number per socket. A peer that stopped
 * answering is therefore gone within two intervals, and `terminate()` (not
 * `close()`, which would wait for a close handshake the dead peer never
 * sends) makes its `close` event, and Nest's `handleDisconnect`, run at once.
 *
 * A server whose event loop was blocked must not blame its peers for it
 * (10,000 idle clients that answered every ping were once terminated by the
 * thousand after a long handler). Two things keep the verdicts fair:
 *
 * - They are taken after the loop has polled its sockets, never in the timer
 *   callback. Timers run before I/O in each turn of the loop, so right after
 *   a block the pongs that arrived meanwhile are still unread in the kernel:
 *   a verdict in the timer callback would see their `bytesRead` unchanged.
 * - A timer that fires late (the loop was blocked around the deadline)
 *   judges nobody: the verdict follows a short grace later, against the same
 *   baseline, so the blocked time is not counted against anyone and whatever
 *   a peer sends meanwhile counts. A peer that is frozen with the server (in
 *   the same process or on the same starved machine) could not answer during
 *   the block; it answers the ping it already has within the grace. Nothing
 *   is sent or scanned on a late tick: a lagging server gets no extra work.
 *
 * The next timer is set once a verdict has sent its pings, so every peer has
 * a full interval to answer even when the sweep itself took long (10,000
 * pings are 10,000 writes).
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private pendingVerdict: NodeJS.Immediate | undefined;
  /** Between `start()` and `stop()`. */
  private active = false;
  /** When the current timer is due, on the `now` clock. */
  private dueAt = 0;
  /** Late ticks in a row whose verdict was postponed. */
  private postponed = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly sockets: () => Iterable<Connection>,
    /** Where terminations and late ticks are counted (`heartbeatTimeouts`, `heartbeatLateTicks`). */
    private readonly stats: GatewayStats,
    /** @internal A monotonic clock in milliseconds; tests pass one to simulate a blocked loop. */
    private readonly now: () => number = monotonicNow,
  ) {}

  start(): void {
    if (this.active || this.intervalMs <= 0) {
      return;
    }
    this.active = true;
    this.postponed = 0;
    this.schedule(this.intervalMs);
  }

  stop(): void {
    this.active = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pendingVerdict !== undefined) {
      clearImmediate(this.pendingVerdict);
      this.pendingVerdict = undefined;
    }
  }

  private schedule(delayMs: number): void {
    this.dueAt = this.now() + delayMs;
    this.timer = setTimeout(this.onTimer, delayMs);
    // The heartbeat must never be what keeps a process alive.
    this.timer.unref();
  }

  /**
   * Runs in the timers phase, before this turn of the loop polls the
   * sockets: it only measures how late it fired, then either postpones the
   * verdict or hands it to the check phase, which comes after the poll.
   */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    const lateByMs = this.now() - this.dueAt;
    if (lateByMs > this.intervalMs * LATE_SHARE) {
      this.stats.heartbeatLateTicks++;
      if (this.postponed < MAX_POSTPONED) {
        this.postponed++;
        const graceMs = this.intervalMs * GRACE_SHARE;
        logger.debug(`Heartbeat tick ${Math.round(lateByMs)} ms late (event loop blocked): verdict postponed by ${Math.round(graceMs)} ms`);
        this.schedule(graceMs);
        return;
      }
      logger.debug(`Heartbeat tick ${Math.round(lateByMs)} ms late (event loop blocked), ${MAX_POSTPONED + 1} in a row: judging peers anyway`);
    }
    this.postponed = 0;
    this.pendingVerdict = setImmediate(this.onVerdict);
  };

  private readonly onVerdict = (): void => {
    this.pendingVerdict = undefined;
    try {
      this.judge();
    } finally {
      // A sweep that throws must not end the heartbeat; one stopped meanwhile stays stopped.
      if (this.active) {
        this.schedule(this.intervalMs);
      }
    }
  };

  private judge(): void {
    for (const socket of this.sockets()) {
      if (socket.readyState !== WebSocket.OPEN) {
        continue;
      }
      const bytesRead = bytesReadOf(socket);
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

function bytesReadOf(socket: Connection): number {
  return tcpSocketOf(socket)?.bytesRead ?? 0;
}
