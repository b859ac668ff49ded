// `node --import ./test/browser/support/register-ts.mjs sample/src/main.ts`: see ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
