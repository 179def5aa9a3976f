#!/usr/bin/env bash
# The evalctl pull-request gate, one step per subcommand (action.yml runs them in order; the tests run this
# file the same way with a stand-in `gh`). Everything it needs comes from the environment:
#   INPUT_*        the action's inputs (action.yml lists them)
#   GITHUB_*       the runner's variables (event name, repository, outputs, step summary, the event payload)
#   GATE_DIR       where report.json, junit.xml, baseline/ and comment.md go
# State between steps goes through $GITHUB_OUTPUT (the step's outputs) and files in GATE_DIR.
set -euo pipefail

step="${1:?usage: gate.sh guard|install|run|baseline|gate|comment|verdict}"
dir="${GATE_DIR:?GATE_DIR is not set}"
mkdir -p "$dir"
output() { echo "$1=$2" >> "$GITHUB_OUTPUT"; }
summary() { if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat >> "$GITHUB_STEP_SUMMARY"; else cat > /dev/null; fi; }
event() { jq -r "$1" "${GITHUB_EVENT_PATH:-/dev/null}" 2>/dev/null || true; }
is_pr() { [ "${GITHUB_EVENT_NAME:-}" = pull_request ] || [ "${GITHUB_EVENT_NAME:-}" = pull_request_target ]; }
evalctl() {
  if [ -n "${EVALCTL_BIN:-}" ]; then "$EVALCTL_BIN" "$@"
  elif type -P evalctl > /dev/null; then "$(type -P evalctl)" "$@"
  else npx --no-install evalctl "$@"; fi
}

case "$step" in
  guard)
    # Fork pull requests get no secrets: say so and skip, rather than fail on a missing key.
    missing=()
    for name in ${INPUT_REQUIRED_SECRETS:-}; do
      if [ -z "${!name:-}" ]; then missing+=("$name"); fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then output skip false; exit 0; fi
    if is_pr && [ "$(event '.pull_request.head.repo.fork')" = true ]; then
      message="Evaluation skipped: this pull request comes from a fork, and GitHub gives fork pull requests no secrets (${missing[*]}). A maintainer can run it after review."
      echo "::notice title=evalctl gate skipped::$message"
      printf '### Evaluation: skipped\n\n%s\n' "$message" | summary
      output skip true
      exit 0
    fi
    echo "::error title=evalctl gate::not set: ${missing[*]} (pass them to the step's env from secrets)"
    exit 2
    ;;

  install)
    # The package (a registry name@version, or a tarball path), into a prefix of its own: the repository's
    # package.json and lock file are left alone. Empty: the repository's own devDependency is used.
    if [ -z "${INPUT_EVALCTL_PACKAGE:-}" ]; then
      echo "Using the repository's evalctl: $(npx --no-install evalctl --version)"
      exit 0
    fi
    prefix="${RUNNER_TEMP:-$dir}/evalctl-cli"
    npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund "$INPUT_EVALCTL_PACKAGE" > "$dir/install.log" 2>&1 || { cat "$dir/install.log"; exit 2; }
    echo "$prefix/node_modules/.bin" >> "${GITHUB_PATH:-/dev/null}"
    echo "evalctl $("$prefix/node_modules/.bin/evalctl" --version) installed from $INPUT_EVALCTL_PACKAGE"
    ;;

  run)
    status=0
    # shellcheck disable=SC2086 # suites and extra arguments are word lists by design
    evalctl run ${INPUT_SUITES:?the suites input is empty} --output-json "$dir/report.json" --junit "$dir/junit.xml" ${INPUT_RUN_ARGS:-} \
      2> >(tee "$dir/run.stderr" >&2) || status=$?
    wait
    output status "$status"
    # 2: an invalid suite or a usage error, 3: nothing could be evaluated. Both stop here, with evalctl's own message.
    if [ "$status" -eq 3 ]; then
      # Said on the pull request too, so nobody reads a red check as a regression.
      {
        echo '<!-- evalctl-gate -->'
        echo '### Evaluation: not evaluated'
        echo
        echo 'The scores are no verdict on this change: the LLM refused the key, could not be reached or kept failing, or too many cases errored.'
        echo
        echo '```'
        grep -A 1 '^evalctl: not evaluated' "$dir/run.stderr" || true
        echo '```'
      } > "$dir/comment.md"
      summary < "$dir/comment.md"
    fi
    if [ "$status" -eq 2 ] || [ "$status" -eq 3 ]; then exit "$status"; fi
    ;;

  baseline)
    # The base branch's last successful report of this same workflow: the artifact its push run uploaded.
    if ! is_pr; then output found false; exit 0; fi
    base="${INPUT_BASELINE_BRANCH:-}"
    [ -n "$base" ] || base="$(event '.pull_request.base.ref')"
    workflow="${GITHUB_WORKFLOW_REF:-}"
    workflow="${workflow%@*}"
    workflow="${workflow##*/}"
    run_id="$(gh run list --repo "$GITHUB_REPOSITORY" --branch "$base" --workflow "$workflow" --event push --status success --limit 1 --json databaseId --jq '.[0].databaseId // empty')"
    if [ -z "$run_id" ]; then
      echo "::notice title=evalctl gate::no successful run of $workflow on $base yet: gating on thresholds only"
      output found false
      exit 0
    fi
    rm -rf "$dir/baseline"
    if ! gh run download "$run_id" --repo "$GITHUB_REPOSITORY" --name "$INPUT_ARTIFACT_NAME" --dir "$dir/baseline"; then
      # The run exists but its report does not (expired, or the run predates the gate): said, not hidden.
      echo "::warning title=evalctl gate::run $run_id on $base has no '$INPUT_ARTIFACT_NAME' artifact (expired?): gating on thresholds only"
      output found false
      exit 0
    fi
    echo "Baseline: run $run_id on $base"
    output found true
    ;;

  gate)
    args=(gate "$dir/report.json" --markdown "$dir/comment.md")
    if [ -f "$dir/baseline/report.json" ]; then args+=(--baseline "$dir/baseline/report.json" --max-drop "${INPUT_MAX_DROP:-0}"); fi
    for rule in ${INPUT_MIN:-}; do args+=(--min "$rule"); done
    status=0
    evalctl "${args[@]}" || status=$?
    output status "$status"
    summary < "$dir/comment.md"
    if [ "$status" -eq 2 ]; then exit 2; fi
    ;;

  comment)
    # One comment per pull request and gate, edited on every push: found by its first line, evalctl's marker
    # with the artifact name added (each gate job of a workflow uploads under its own name).
    is_pr || exit 0
    [ -f "$dir/comment.md" ] || exit 0
    number="$(event '.pull_request.number')"
    marker="<!-- evalctl-gate:${INPUT_ARTIFACT_NAME:-eval-report} -->"
    { echo "$marker"; tail -n +2 "$dir/comment.md"; } > "$dir/comment.posted.md"
    mv "$dir/comment.posted.md" "$dir/comment.md"
    existing="$(gh api "repos/$GITHUB_REPOSITORY/issues/$number/comments" --paginate --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)"
    if [ -n "$existing" ]; then
      gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$existing" -F "body=@$dir/comment.md" > /dev/null
      echo "Updated comment $existing"
    else
      gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$number/comments" -F "body=@$dir/comment.md" > /dev/null
      echo "Commented on #$number"
    fi
    ;;

  verdict)
    # The check's result: a threshold missed (run) or a regression past --max-drop (gate) fails it.
    run_status="${RUN_STATUS:-0}"
    gate_status="${GATE_STATUS:-0}"
    if [ "$run_status" -ne 0 ]; then echo "::error title=evalctl gate::a threshold or gate rule of the suites failed (evalctl run exited $run_status)"; fi
    if [ "$gate_status" -ne 0 ]; then echo "::error title=evalctl gate::scores dropped against the baseline by more than ${INPUT_MAX_DROP:-0}"; fi
    if [ "$run_status" -ne 0 ] || [ "$gate_status" -ne 0 ]; then exit 1; fi
    echo "Gate passed."
    ;;

  *)
    echo "gate.sh: unknown step $step" >&2
    exit 2
    ;;
esac
