import { WsAdapter } from '@nestjs/platform-ws';
import { startNestApp } from './nest-app.mjs';

export const start = () => startNestApp((app) => new WsAdapter(app));
