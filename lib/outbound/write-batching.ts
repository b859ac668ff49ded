import type { Connection } from '../connection/connection.interface.js';
import { tcpSocketOf } from '../internals/ws.js';

const corked: Connection[] = [];

/**
 * Holds a socket's writes until the end of the current tick, so the replies
 * to a burst of messages (one TCP read often carries many) leave in one
 * `writev` instead of one syscall each: the syscall is most of a reply's
 * cost. The socket is uncorked on `process.nextTick`, before any I/O, so no
 * reply waits longer than the code already running.
 */
export function batchWritesThisTick(socket: Connection): void {
  if (socket._corked) {
    return;
  }
  const raw = tcpSocketOf(socket);
  if (raw === undefined || typeof raw.cork !== 'function') {
    return;
  }
  socket._corked = true;
  raw.cork();
  if (corked.push(socket) === 1) {
    process.nextTick(uncorkAll);
  }
}

function uncorkAll(): void {
  for (let i = 0; i < corked.length; i++) {
    const socket = corked[i];
    socket._corked = false;
    tcpSocketOf(socket)?.uncork();
  }
  corked.length = 0;
}
