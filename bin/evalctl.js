#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources through tsx's require hook, so the CLI needs no build step.
require('tsx/cjs');
const { main } = require('../services/cli.ts');
const { redactSecrets } = require('../src/providers/redact.ts');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`evalctl: ${redactSecrets(String(error && error.stack ? error.stack : error))}\n`);
    process.exitCode = 2;
  },
);
