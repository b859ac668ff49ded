// Summarizes a V8 .cpuprofile (from bench/profile/run.mjs --mode=cpuprof, or
// `node --cpu-prof`): self time by package and by function, and the
// inclusive time of the frames named in FOCUS (the upgrade and broadcast
// paths), per operation when the operation count is known.
//
//   node bench/profile/summarize.mjs <file.cpuprofile> [operations]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Frames whose inclusive time is shown: function name, optionally with a file fragment. */
const FOCUS = [
  // Node's HTTP server and ws's handshake
  ['connectionListenerInternal', '_http_server'],
  ['parserOnIncoming', '_http_server'],
  ['onParserExecuteCommon', '_http_server'],
  ['handleUpgrade', 'websocket-server'],
  ['completeUpgrade', 'websocket-server'],
  ['setSocket', 'websocket.js'],
  ['WebSocket', 'websocket.js'],
  ['emitClose', 'websocket.js'],
  ['socketOnClose', 'websocket.js'],
  ['socketOnData', 'websocket.js'],
  ['receiverOnConclude', 'websocket.js'],
  ['close', 'websocket.js'],
  // ours
  ['route', 'upgrade-router'],
  ['upgrade', 'upgrade-router'],
  ['HandshakeFacts', 'handshake-facts'],
  ['retainedHeaders', 'handshake-headers'],
  ['parseQueryString', 'query-string'],
  ['normalizePath', 'route-matcher'],
  ['acceptSocket', 'switchboard.adapter'],
  ['onSocketClose', 'switchboard.adapter'],
  ['bindClientConnect', 'switchboard.adapter'],
  ['bindClientDisconnect', 'switchboard.adapter'],
  ['bindMessageHandlers', 'switchboard.adapter'],
  ['SwitchboardSocket', 'switchboard-socket'],
  ['createSocketId', 'socket-id'],
  ['routesFor', 'switchboard-server'],
  ['emit', 'switchboard-server'],
  ['deliver', 'switchboard-server'],
  ['forEachRecipient', 'switchboard-server'],
  ['writeTo', 'prepared-frame'],
  ['PreparedFrame', 'prepared-frame'],
  ['onSocketMessage', 'message-dispatcher'],
  ['sendValue', 'outbound'],
  ['batchWritesThisTick', 'write-batching'],
  ['uncorkAll', 'write-batching'],
  ['leaveAll', 'room-registry'],
  ['rejectPendingRequests', 'client-requests'],
  // Nest's per-connection work
  ['getConnectionHandler', 'web-sockets-controller'],
  ['subscribeMessages', 'web-sockets-controller'],
  ['next', 'Subject'],
  // raw servers
  ['onMessage', 'raw-ws'],
  ['broadcast', 'raw-ws'],
  // the runtime
  ['(garbage collector)', ''],
  ['(program)', ''],
];

function packageOf(url) {
  if (!url) {
    return '(runtime)';
  }
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) {
    return 'node (JS)';
  }
  if (url.includes('/dist/esm/') || url.includes('/dist/cjs/')) {
    return 'nestjs-switchboard';
  }
  if (url.includes('/bench/')) {
    return 'bench';
  }
  return url;
}

function shortUrl(url) {
  if (!url) {
    return '';
  }
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    return url.slice(modules + 'node_modules/'.length);
  }
  const dist = url.search(/\/dist\/(esm|cjs)\//);
  if (dist !== -1) {
    return url.slice(dist + 1);
  }
  return url.replace(/^file:\/\//, '').replace(/^.*\/bench\//, 'bench/');
}

export function summarizeProfile(profile, { perOperation, unit = 'op', top = 30 } = {}) {
  const { nodes, samples, timeDeltas } = profile;
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of nodes) {
    for (const child of node.children ?? []) {
      parent.set(child, node.id);
    }
  }
  // Time per sample: the delta to the next sample (V8's convention), in µs.
  const selfMicros = new Map();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const delta = timeDeltas[i + 1] ?? 0;
    selfMicros.set(samples[i], (selfMicros.get(samples[i]) ?? 0) + delta);
    total += delta;
  }
  const busy = total - [...selfMicros].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)').reduce((sum, [, micros]) => sum + micros, 0);

  const byPackage = new Map();
  const byFunction = new Map();
  for (const [id, micros] of selfMicros) {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    if (functionName === '(idle)') {
      continue;
    }
    const pkg = packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
    const key = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
  }

  // Inclusive time of focus frames: a sample counts once per focus entry even under recursion.
  const inclusive = new Map(FOCUS.map(([name, file]) => [`${name}${file ? ` (${file})` : ''}`, 0]));
  for (const [id, micros] of selfMicros) {
    const hit = new Set();
    for (let node = id; node !== undefined; node = parent.get(node)) {
      const { functionName, url } = byId.get(node).callFrame;
      for (const [name, file] of FOCUS) {
        if (functionName === name && (file === '' || (url ?? '').includes(file))) {
          hit.add(`${name}${file ? ` (${file})` : ''}`);
        }
      }
    }
    for (const key of hit) {
      inclusive.set(key, inclusive.get(key) + micros);
    }
  }

  const pct = (micros) => `${((micros / busy) * 100).toFixed(1).padStart(5)}%`;
  const perOp = (micros) => (perOperation ? `${(micros / perOperation).toFixed(2).padStart(7)} µs/${unit}` : '');
  const lines = [`  busy (not idle) ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled${perOperation ? `, ${(busy / perOperation).toFixed(2)} µs/${unit}` : ''}`];
  lines.push('  self time by package:');
  for (const [pkg, micros] of [...byPackage].sort((a, b) => b[1] - a[1])) {
    if (micros / busy >= 0.002) {
      lines.push(`    ${pct(micros)} ${perOp(micros)}  ${pkg}`);
    }
  }
  lines.push(`  self time by function (top ${top}):`);
  for (const [key, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`    ${pct(micros)} ${perOp(micros)}  ${key}`);
  }
  lines.push('  inclusive time of the upgrade / message / broadcast path frames:');
  for (const [key, micros] of inclusive) {
    if (micros > 0) {
      lines.push(`    ${pct(micros)} ${perOp(micros)}  ${key}`);
    }
  }
  return lines.join('\n');
}

/**
 * A sampling heap profile (HeapProfiler.stopSampling, .heapprofile): bytes
 * allocated by package and by allocating function, and the bytes allocated
 * under the FOCUS frames, per operation.
 */
export function summarizeHeapProfile(profile, { perOperation, unit = 'op', top = 30 } = {}) {
  const byPackage = new Map();
  const byFunction = new Map();
  const inclusive = new Map(FOCUS.map(([name, file]) => [`${name}${file ? ` (${file})` : ''}`, 0]));
  let total = 0;
  const walk = (node, stack) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const here = [...stack, node.callFrame];
    if (node.selfSize > 0) {
      total += node.selfSize;
      const pkg = packageOf(url);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.selfSize);
      const key = `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
      const hit = new Set();
      for (const frame of here) {
        for (const [name, file] of FOCUS) {
          if (frame.functionName === name && (file === '' || (frame.url ?? '').includes(file))) {
            hit.add(`${name}${file ? ` (${file})` : ''}`);
          }
        }
      }
      for (const key of hit) {
        inclusive.set(key, inclusive.get(key) + node.selfSize);
      }
    }
    for (const child of node.children ?? []) {
      walk(child, here);
    }
  };
  walk(profile.head, []);
  const pct = (bytes) => `${((bytes / total) * 100).toFixed(1).padStart(5)}%`;
  const perOp = (bytes) => (perOperation ? `${Math.round(bytes / perOperation).toString().padStart(7)} B/${unit}` : '');
  const lines = [`  allocated (sampled estimate) ${(total / 2 ** 20).toFixed(1)} MiB${perOperation ? `, ${Math.round(total / perOperation)} B/${unit}` : ''}`];
  lines.push('  by package:');
  for (const [pkg, bytes] of [...byPackage].sort((a, b) => b[1] - a[1])) {
    if (bytes / total >= 0.002) {
      lines.push(`    ${pct(bytes)} ${perOp(bytes)}  ${pkg}`);
    }
  }
  lines.push(`  by allocating function (top ${top}):`);
  for (const [key, bytes] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`    ${pct(bytes)} ${perOp(bytes)}  ${key}`);
  }
  lines.push('  allocated under the upgrade / message / broadcast path frames:');
  for (const [key, bytes] of inclusive) {
    if (bytes > 0) {
      lines.push(`    ${pct(bytes)} ${perOp(bytes)}  ${key}`);
    }
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, operations] = process.argv.slice(2);
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const options = { perOperation: operations ? Number(operations) : undefined };
  console.log(file.endsWith('.heapprofile') ? summarizeHeapProfile(profile, options) : summarizeProfile(profile, options));
}
