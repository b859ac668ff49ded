/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; resolves with the results in order. */
export async function runPool(count, concurrency, task) {
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function loadClient(name) {
  return import(`./clients/${name}.mjs`);
}
