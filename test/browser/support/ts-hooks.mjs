// Module hooks that run the sample from its TypeScript sources in a plain
// Node process (the browser tests start sample instances as child processes,
// so that one can be killed with SIGKILL): `.ts` files are compiled one by one
// with TypeScript's transpileModule (decorator metadata included, as ts-jest
// does), `nestjs-switchboard[/x]` is mapped to lib/ as the Jest config maps
// it, and `./x.js` imports find `./x.ts`. Compiled files are cached on disk by
// content hash, so the second instance starts without compiling.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = new URL('../../../', import.meta.url);
const require = createRequire(import.meta.url);
const CACHE = join(tmpdir(), `switchboard-sample-ts-${process.getuid?.() ?? 0}`);
let ts;

const COMPILER_OPTIONS = {
  module: 99, // ESNext
  target: 9, // ES2022
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  useDefineForClassFields: false,
  esModuleInterop: true,
  inlineSourceMap: true,
  inlineSources: true,
};

export async function resolve(specifier, context, next) {
  if (specifier === 'nestjs-switchboard') {
    return { url: new URL('lib/index.ts', ROOT).href, shortCircuit: true };
  }
  if (specifier.startsWith('nestjs-switchboard/')) {
    return { url: new URL(`lib/${specifier.slice('nestjs-switchboard/'.length)}/index.ts`, ROOT).href, shortCircuit: true };
  }
  if (context.parentURL?.endsWith('.ts') && (specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js')) {
    const asTs = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
    if (!existsSync(new URL(specifier, context.parentURL)) && existsSync(asTs)) {
      return { url: asTs.href, shortCircuit: true };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) {
    return next(url, context);
  }
  const file = fileURLToPath(url);
  const source = readFileSync(file, 'utf8');
  const key = createHash('sha1').update(file).update('\0').update(source).update(JSON.stringify(COMPILER_OPTIONS)).digest('hex');
  const cached = join(CACHE, `${key}.js`);
  if (existsSync(cached)) {
    return { format: 'module', source: readFileSync(cached, 'utf8'), shortCircuit: true };
  }
  ts ??= require('typescript');
  const { outputText } = ts.transpileModule(source, { fileName: file, compilerOptions: COMPILER_OPTIONS });
  mkdirSync(CACHE, { recursive: true });
  const partial = `${cached}.${process.pid}.tmp`;
  writeFileSync(partial, outputText);
  renameSync(partial, cached);
  return { format: 'module', source: outputText, shortCircuit: true };
}

