// SwitchboardAdapter from another checkout (BENCH_CANDIDATE=<its directory>,
// built with `npm run build` there), in the same Nest app as
// nest-switchboard.mjs: a lib change measured beside the current build in
// one run. The candidate's own imports (@nestjs/*, ws) must resolve to the
// same packages as this checkout's (a node_modules symlink to this one does).
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startNestApp } from './nest-app.mjs';

const dir = process.env.BENCH_CANDIDATE;
if (!dir) {
  throw new Error('BENCH_CANDIDATE (the directory of the candidate checkout) is not set');
}
const { SwitchboardAdapter } = await import(pathToFileURL(join(resolve(dir), 'dist', 'esm', 'index.js')).href);

export const start = (options = {}) => startNestApp((app) => new SwitchboardAdapter(app), { ...options, rooms: 'native' });
