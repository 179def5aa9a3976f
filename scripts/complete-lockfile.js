#!/usr/bin/env node
'use strict';
// npm writes only this platform's entry for platform-specific optional packages (npm/cli#4828), while the
// parent's entry keeps naming all of them; `npm ci` on a fresh clone then stops with "Missing: @chdb/lib-…
// from lock file". For each optional package missing from the lock, this adds its entry when the registry
// publishes it (version, tarball, integrity, os/cpu/libc) and otherwise drops the name from the parent's
// entry: nothing could install it, and the lock then says exactly what `npm ci` can fetch. Run it after any
// `npm install` that changes chdb; test/lockfile.test.ts fails while an edge is dangling.
const { execFileSync } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const lockPath = join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));

function missingOptionalEntries(lockfile) {
  const missing = [];
  for (const [path, entry] of Object.entries(lockfile.packages)) {
    if (!path || !entry.optionalDependencies) continue;
    for (const [name, range] of Object.entries(entry.optionalDependencies)) {
      const nested = `${path}/node_modules/${name}`;
      const hoisted = `node_modules/${name}`;
      if (!lockfile.packages[nested] && !lockfile.packages[hoisted]) missing.push({ path: hoisted, name, range });
    }
  }
  return missing;
}

if (require.main === module) {
  const missing = missingOptionalEntries(lock);
  for (const { path, name, range } of missing) {
    let meta;
    try {
      meta = JSON.parse(execFileSync('npm', ['view', `${name}@${range}`, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    } catch {
      for (const entry of Object.values(lock.packages)) {
        if (entry.optionalDependencies && entry.optionalDependencies[name] === range) delete entry.optionalDependencies[name];
      }
      console.log(`not published on this registry, dropped from the lock: ${name}@${range}`);
      continue;
    }
    const info = Array.isArray(meta) ? meta[meta.length - 1] : meta;
    const entry = { version: info.version, resolved: info.dist.tarball, integrity: info.dist.integrity };
    for (const field of ['cpu', 'os', 'libc']) if (info[field]) entry[field] = info[field];
    if (info.license) entry.license = info.license;
    entry.optional = true;
    lock.packages[path] = entry;
    console.log(`added ${path}@${info.version}`);
  }
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
  writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
  if (missing.length === 0) console.log('package-lock.json already lists every optional platform package');
}

module.exports = { missingOptionalEntries };
