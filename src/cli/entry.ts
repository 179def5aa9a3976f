import { main } from './main';

/**
 * The process entry of the installable evalctl (the package's bin): the engine's commands only. The platform's
 * own entry, with serve/work/dev, is services/entry.ts.
 */
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Loaded only here: an unexpected failure is rare, and start-up stays at the floor.
    const { redactSecrets } = require('../providers/redact') as typeof import('../providers/redact');
    process.stderr.write(`evalctl: ${redactSecrets(String(error instanceof Error && error.stack ? error.stack : error))}\n`);
    process.exitCode = 2;
  },
);
