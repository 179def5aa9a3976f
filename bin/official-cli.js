'use strict';
// `npx cdktf …` and `npx cdk8s …` in this checkout run the official CLIs through these bins (the root package's
// bins come before node_modules/.bin for npx), with their telemetry and update checks off: cdktf's checkpoint
// call (CHECKPOINT_DISABLE, which also turns off terraform's upgrade check) prints ENOTFOUND offline, and
// cdk8s-cli's upgrade check prints a stack trace and "A new version undefined". Both CLIs read these switches
// only from the environment; a value the caller set wins. Everything else (arguments, stdio, exit code,
// signals) is the CLI's own.
const { spawn } = require('node:child_process');
const { dirname, join } = require('node:path');

/** Runs the `name` bin of the npm package `pkg` with `quiet` added to the environment where it is unset. */
function runOfficialCli(pkg, name, quiet) {
  const manifest = require.resolve(`${pkg}/package.json`);
  const bin = require(manifest).bin[name];
  const env = { ...process.env };
  for (const [key, value] of Object.entries(quiet)) if (env[key] === undefined) env[key] = value;
  const child = spawn(process.execPath, [join(dirname(manifest), bin), ...process.argv.slice(2)], { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

module.exports = { runOfficialCli };
