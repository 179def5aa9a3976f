/**
 * Runs a CLI's `main` as the process: its result is the exit code; an unexpected failure is printed (credentials
 * redacted) and exits 2. Shared by the installable evalctl (`entry.ts`) and the platform's (`services/entry.ts`).
 */
export function runAsProcess(main: (args: string[]) => Promise<number>): void {
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
}
