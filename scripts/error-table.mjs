// Regenerates the error-code table in README.md from lib's ERROR_CODES (via the
// ESM build), between the error-codes markers. `npm run docs` runs it.
import { readFileSync, writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../dist/esm/index.js';

const rows = ERROR_CODES.map(
  (entry) => `| \`${entry.code}\` | ${entry.kind} | ${entry.closeCode ?? ''} | ${entry.httpStatus ?? ''} | ${entry.description} |`,
);
const table = ['| Code | Kind | Close code | HTTP | Meaning |', '|---|---|---|---|---|', ...rows].join('\n');
const readme = readFileSync('README.md', 'utf8');
const pattern = /(<!-- error-codes:start -->\n)[\s\S]*?(\n<!-- error-codes:end -->)/;
if (!pattern.test(readme)) {
  throw new Error('README.md has no error-codes markers');
}
writeFileSync('README.md', readme.replace(pattern, `$1${table}$2`));
console.log(`README.md: ${rows.length} error codes`);
