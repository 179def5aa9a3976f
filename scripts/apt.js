'use strict';
// apt-get for the test set-up (scripts/ensure-test-*.js): waits for the dpkg lock when another apt-get or
// unattended-upgrades holds it, instead of failing at once, and reports a failure in one line, not a stack.
const { spawnSync } = require('node:child_process');

/** Seconds apt-get waits for the dpkg lock. */
const LOCK_TIMEOUT_SECONDS = 600;

/** Runs `apt-get <args>` (through sudo unless root); exits the process with a clear message when it fails. */
function aptGet(args, { exitOnFailure = true } = {}) {
  const asRoot = process.getuid && process.getuid() === 0;
  const command = ['apt-get', '-o', `DPkg::Lock::Timeout=${LOCK_TIMEOUT_SECONDS}`, ...args];
  const result = spawnSync(asRoot ? command[0] : 'sudo', asRoot ? command.slice(1) : command, { stdio: 'inherit' });
  if (result.status === 0) return true;
  if (!exitOnFailure) return false;
  const why = result.error ? result.error.message : `exit ${result.status}`;
  console.error(`test set-up: \`${command.join(' ')}\` failed (${why}); install the packages above yourself, then run the tests again.`);
  process.exit(1);
}

module.exports = { aptGet, LOCK_TIMEOUT_SECONDS };
