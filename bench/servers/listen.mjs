import { HOST } from '../lib/wire.mjs';

/** Listens on 127.0.0.1 and an ephemeral port; resolves with the server. */
export function listen(httpServer) {
  return new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, HOST, () => resolve(httpServer));
  });
}
