import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// chdb's engine ships as one optional package per platform, and npm records only the platform it ran on
// (npm/cli#4828). The lock must carry the Linux x64 engine that CI and the images install, and chdb must stay
// optional so that a platform without a published engine still installs (and uses CLICKHOUSE_URL).
const root = join(__dirname, '..');
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; integrity?: string; optional?: boolean; optionalDependencies?: Record<string, string> }> };
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };

test('chdb is optional for the project, and the lock pins its Linux x64 engine', () => {
  expect(manifest.optionalDependencies).toHaveProperty('chdb');
  expect(manifest.dependencies).not.toHaveProperty('chdb');
  const chdb = lock.packages['node_modules/chdb'];
  const engine = lock.packages['node_modules/@chdb/lib-linux-x64-gnu'];
  expect(chdb.optional).toBe(true);
  expect(engine).toMatchObject({ version: chdb.optionalDependencies!['@chdb/lib-linux-x64-gnu'], integrity: expect.stringMatching(/^sha512-/) });
});

test('no optional dependency in the lock points at a package the lock does not hold (npm ci on a fresh clone)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { missingOptionalEntries } = require('../scripts/complete-lockfile.js') as { missingOptionalEntries(lock: unknown): unknown[] };
  expect(missingOptionalEntries(lock)).toEqual([]);
});
