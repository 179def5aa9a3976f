import { runAsProcess } from '../src/cli/process';
import { main } from './cli';

// The process entry of evalctl and of the images (`node build/services/entry.js serve|work|migrate`).
runAsProcess((args) => main(args));
