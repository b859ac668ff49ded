// Request/response over the Node IPC channel between the orchestrator and
// its children (servers and load generators). One message shape both ways:
// requests are {id, type, ...params}, answers {id, ok, result | error}.

let nextId = 1;

/** Parent side: sends a request and resolves with the child's result. */
export function request(child, type, params = {}, timeoutMs = 120_000) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message) => {
      if (message?.id !== id) {
        return;
      }
      cleanup();
      if (message.ok) {
        resolve(message.result);
      } else {
        reject(new Error(`${child.benchName ?? 'child'} failed "${type}": ${message.error}`));
      }
    };
    const onExit = (code, signal) => {
      cleanup();
      reject(new Error(`${child.benchName ?? 'child'} exited (${signal ?? code}) during "${type}"`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${child.benchName ?? 'child'} did not answer "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send({ id, type, ...params });
  });
}

/**
 * Child side: answers requests with the given handlers, then says hello
 * (with `hello`'s fields) so the parent knows the handlers are in place. `stop` (optional) runs before
 * the child exits on the parent's stop message. A child whose parent is gone
 * (the channel closed) exits, so nothing outlives an interrupted run.
 */
export function serveRequests(handlers, hello = {}) {
  if (typeof process.send !== 'function') {
    throw new Error('This script is started by bench/run.mjs (it needs an IPC channel).');
  }
  process.on('message', async (message) => {
    if (message?.type === 'stop') {
      // Sent by stopChild() without an id: clean up, then exit; the parent waits for the exit.
      try {
        await handlers.stop?.();
      } finally {
        process.exit(0);
      }
    }
    const handler = handlers[message?.type];
    try {
      if (handler === undefined) {
        throw new Error(`unknown request "${message?.type}"`);
      }
      const result = await handler(message);
      process.send({ id: message.id, ok: true, result });
    } catch (error) {
      process.send({ id: message.id, ok: false, error: error?.stack ?? String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'hello', pid: process.pid, ...hello });
}
