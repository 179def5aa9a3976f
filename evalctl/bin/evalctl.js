#!/usr/bin/env node
'use strict';
// The installed evalctl: compiled JavaScript, no transpiler. Commands load their modules on first use.
try {
  require.resolve('../lib/cli/entry.js');
} catch {
  // Only in a checkout of the repository: the published package always ships lib/.
  process.stderr.write('evalctl: this checkout has not built the CLI yet: run `npm run build:evalctl` (or use `npm run evalctl --`)\n');
  process.exit(2);
}
require('../lib/cli/entry.js');
