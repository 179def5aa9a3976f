/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { MAX_REVIEWER_LENGTH } from '../contracts/api';
import { ASSETS } from './assets';
import type { ViewerPaths } from './model';

/** Signing in to the platform's viewer: a project key (kept only as a session cookie) and the reviewer's name. */
export function LoginPage(props: { paths: ViewerPaths; action: string; next: string; problem?: { field: string; message: string }; reviewer?: string }) {
  const { problem } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Sign in · evaluation viewer</title>
        <link rel="stylesheet" href={props.paths.asset(ASSETS.css.name)} />
      </head>
      <body>
        <main id="main" class="login">
          <h1>Evaluation viewer</h1>
          <p>Sign in with one of your project's API keys. The key is checked once and not kept in the browser; the session ends after 12 hours or when you sign out.</p>
          {problem ? (
            <p class="error-box" role="alert" id="login-problem">
              {problem.message}
            </p>
          ) : null}
          <form method="post" action={props.action}>
            <input type="hidden" name="next" value={props.next} />
            <label for="key">Project API key</label>
            <input
              id="key"
              name="key"
              type="password"
              required
              autocomplete="off"
              spellcheck={false}
              aria-invalid={problem?.field === 'key' ? 'true' : undefined}
              aria-describedby={problem?.field === 'key' ? 'login-problem' : undefined}
            />
            <label for="reviewer">Your name or e-mail (recorded with your reviews)</label>
            <input
              id="reviewer"
              name="reviewer"
              type="text"
              required
              maxlength={MAX_REVIEWER_LENGTH}
              autocomplete="name"
              value={props.reviewer ?? ''}
              aria-invalid={problem?.field === 'reviewer' ? 'true' : undefined}
              aria-describedby={problem?.field === 'reviewer' ? 'login-problem' : undefined}
            />
            <button type="submit" class="primary">
              Sign in
            </button>
          </form>
        </main>
      </body>
    </html>
  );
}
