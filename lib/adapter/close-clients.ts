import { WebSocket } from 'ws';

/**
 * Sends a close frame to every client and waits for the close handshakes,
 * at most `timeoutMs`; clients still open then are terminated. Resolves when
 * every socket has emitted `close`, so no handle is left behind.
 */
export function closeClients(clients: Iterable<WebSocket>, code: number, reason: string, timeoutMs: number): Promise<void> {
  const pending = [...clients].filter((client) => client.readyState !== WebSocket.CLOSED);
  if (pending.length === 0) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let remaining = pending.length;
    const timer = setTimeout(() => {
      for (const client of pending) {
        if (client.readyState !== WebSocket.CLOSED) {
          client.terminate();
        }
      }
    }, timeoutMs);
    const onClose = (): void => {
      if (--remaining === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const client of pending) {
      client.once('close', onClose);
      if (client.readyState === WebSocket.OPEN) {
        client.close(code, reason);
      } else if (client.readyState === WebSocket.CONNECTING) {
        client.terminate();
      }
    }
  });
}
