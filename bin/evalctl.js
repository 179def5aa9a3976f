#!/usr/bin/env node
'use strict';
// Runs the TypeScript sources through tsx's require hook, so the CLI needs no build step in a checkout.
// The images run the compiled entry instead (node build/services/entry.js).
require('tsx/cjs');
require('../services/entry.ts');
