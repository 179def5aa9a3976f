#!/usr/bin/env node
// A package's prepack: the repository's LICENSE goes into the tarball (npm packs a LICENSE it finds in the
// package's own folder). One text, kept at the root; the copies are not committed (.gitignore).
const { copyFileSync } = require('node:fs');
const { join } = require('node:path');

copyFileSync(join(__dirname, '..', 'LICENSE'), join(process.cwd(), 'LICENSE'));
