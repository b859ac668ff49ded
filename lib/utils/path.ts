/**
 * Normalises a gateway path or a request path: a leading slash, no repeated
 * slashes, no trailing slash (so `/chat/` and `/chat` are the same route).
 */
export function normalizePath(path: string | undefined): string {
  if (path === undefined || path === '') {
    return '/';
  }
  // The common request path is already normal: no regex on the upgrade path.
  if (path.charCodeAt(0) === 47 && (path.length === 1 || path.charCodeAt(path.length - 1) !== 47) && !path.includes('//')) {
    return path;
  }
  let normalized = ('/' + path).replace(/\/{2,}/g, '/');
  while (normalized.length > 1 && normalized.endsWith('/')) {
    normalized = normalized.slice(0, -1);
  }
  return normalized;
}
