// `node --import ./test/browser/support/register-ts.mjs sample/src/main.ts`: see ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);

// SAMPLE_EXIT_WITH_PARENT=1: the instance does not outlive the process that started it (a Jest
// worker killed on a timeout, a cluster script killed with -9), whatever happened to its own cleanup.
if (process.env.SAMPLE_EXIT_WITH_PARENT === '1') {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      process.kill(process.pid, 'SIGKILL');
    }
  }, 500).unref();
}
