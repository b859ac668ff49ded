/**
 * `npm test`'s Jest run: both Nest lines in one process, so the Nest 11
 * tests share the workers (and the wall time) of the Nest 12 run, and
 * `npm test -- <pattern>` filters both. `npx jest` alone runs Nest 12 only,
 * `npx jest -c jest.nest11.config.js` Nest 11 only.
 */
export default {
  projects: ['<rootDir>/jest.config.js', '<rootDir>/jest.nest11.config.js'],
};
