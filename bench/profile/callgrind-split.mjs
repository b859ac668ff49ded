// Splits the instructions of a callgrind dump (bench/profile/run.mjs
// --mode=callgrind) into what a comparison of two builds needs: garbage
// collection (main thread and helper threads), JIT compilation, Error stack
// capture, and the rest ("mutator": the JavaScript and native code the
// server runs itself). GC and compilation depend on when they happen to
// run, so the mutator count is the repeatable one; GC is better compared by
// bytes allocated per operation (--mode=heapprof).
//
//   node bench/profile/callgrind-split.mjs <callgrind.out> [operations]
//
// A category's cost is the inclusive cost of every call from a function
// outside the category into one inside it (so nested calls are counted
// once), from the call edges callgrind records.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CATEGORIES = {
  gc: /v8::internal::(Heap::(CollectGarbage|CollectAllGarbage|FinalizeIncrementalMarking|StartIncrementalMarking|ReportExternalMemoryPressure)|IncrementalMarking::|IncrementalMarkingJob::|ScavengeJob::|MinorGCJob::|Sweeper::|MarkCompactCollector::|MinorMarkCompactCollector::|ScavengerCollector::|Scavenger::|ConcurrentMarking::|ArrayBufferSweeper::|MemoryReducer::|MarkingBarrier::|GlobalHandles::(PostGarbageCollectionProcessing|InvokeFirstPassWeakCallbacks|InvokeSecondPassPhantomCallbacks))|cppgc::internal::/,
  compile: /v8::internal::(Compiler::|OptimizingCompileDispatcher::|compiler::|maglev::|baseline::|BaselineBatchCompiler|Parser::|PreParser|interpreter::BytecodeGenerator|LazyCompileDispatcher|ConcurrentCompileTask|CodeGenerator)/,
  errorStack: /v8::internal::Isolate::CaptureAndSetErrorStack/,
};

export function splitCallgrind(text) {
  const names = new Map();
  const self = new Map();
  const edges = new Map();
  let fn;
  let pendingCallee;
  let expectCallCost = false;
  const nameOf = (spec) => {
    // "(id) name" the first time, "(id)" afterwards (compressed strings), or a plain name.
    const match = /^\((\d+)\)(?:\s+(.*))?$/.exec(spec.trim());
    if (match === null) {
      return spec.trim();
    }
    if (match[2] !== undefined) {
      names.set(match[1], match[2]);
    }
    return names.get(match[1]) ?? `(${match[1]})`;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=')) {
      fn = nameOf(line.slice(3));
    } else if (line.startsWith('cfn=')) {
      pendingCallee = nameOf(line.slice(4));
    } else if (line.startsWith('calls=')) {
      expectCallCost = true;
    } else if (/^[+-]?\d/.test(line) || line.startsWith('*')) {
      const parts = line.trim().split(/\s+/);
      const cost = Number(parts[parts.length - 1]);
      if (!Number.isFinite(cost) || fn === undefined) {
        continue;
      }
      if (expectCallCost) {
        const key = `${fn}\u0000${pendingCallee}`;
        edges.set(key, (edges.get(key) ?? 0) + cost);
        expectCallCost = false;
      } else {
        self.set(fn, (self.get(fn) ?? 0) + cost);
      }
    }
  }
  const total = [...self.values()].reduce((sum, cost) => sum + cost, 0);
  const result = { total };
  let categorized = 0;
  for (const [category, pattern] of Object.entries(CATEGORIES)) {
    let cost = 0;
    for (const [key, edgeCost] of edges) {
      const [caller, callee] = key.split('\u0000');
      if (pattern.test(callee) && !pattern.test(caller) && !Object.values(CATEGORIES).some((other) => other !== pattern && other.test(caller))) {
        cost += edgeCost;
      }
    }
    result[category] = cost;
    categorized += cost;
  }
  result.mutator = total - categorized;
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, operations] = process.argv.slice(2);
  const split = splitCallgrind(readFileSync(file, 'utf8'));
  const per = (value) => (operations ? ` (${Math.round(value / Number(operations)).toLocaleString('en-US')} per op)` : '');
  for (const [key, value] of Object.entries(split)) {
    console.log(`${key.padEnd(10)} ${value.toLocaleString('en-US').padStart(16)}${per(value)}`);
  }
}
