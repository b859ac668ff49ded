import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Screenshots of the page: test/browser/artifacts (git-ignored). */
export const ARTIFACTS = `${ROOT}test/browser/artifacts`;
