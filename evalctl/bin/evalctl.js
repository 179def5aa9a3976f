#!/usr/bin/env node
'use strict';
// The installed evalctl: compiled JavaScript (lib/), no transpiler; each command loads its modules on first use.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

if (existsSync(join(__dirname, '../../services/entry.ts'))) {
  // Linked from a checkout of the repository (`npx evalctl` there): the repository's own evalctl, from its
  // TypeScript sources and with the platform's commands, whether or not lib/ was built.
  require('../../bin/evalctl.js');
} else {
  require('../lib/cli/entry.js');
}
