import { main } from './main';
import { runAsProcess } from './process';

/**
 * The process entry of the installable evalctl (the package's bin): the engine's commands only. The platform's
 * own entry, with serve/work/dev, is services/entry.ts.
 */
runAsProcess((args) => main(args));
