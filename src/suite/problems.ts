/** Problems in a suite or in the dataset it reads, with file and line: shared by the suite loader and the dataset reader. */

/** One problem in a suite: the file, the line where known, the field's path and what is wrong. */
export interface SuiteProblem {
  readonly file: string;
  readonly line?: number;
  readonly path: string;
  readonly message: string;
}

/** Every problem of every suite at once, one per line: `file:line: path: message`. */
export class SuiteError extends Error {
  constructor(readonly problems: readonly SuiteProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SuiteError';
  }
}

export function formatProblem(problem: SuiteProblem): string {
  const where = problem.line ? `${problem.file}:${problem.line}` : problem.file;
  return `${where}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}
