// socket.io with its defaults (the gateway's `path` becomes socket.io's
// path). Clients connect with the websocket transport only, so no long
// polling is involved.
import { IoAdapter } from '@nestjs/platform-socket.io';
import { startNestApp } from './nest-app.mjs';

export const start = () => startNestApp((app) => new IoAdapter(app));
