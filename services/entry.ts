import { redactSecrets } from '../src/providers/redact';
import { main } from './cli';

// The process entry of evalctl and of the images (`node build/services/entry.js serve|work|migrate`).
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`evalctl: ${redactSecrets(String(error instanceof Error && error.stack ? error.stack : error))}\n`);
    process.exitCode = 2;
  },
);
