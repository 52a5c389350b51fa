#!/usr/bin/env bash
# The long part of the reliability suite (docs/RELIABILITY.md): each scenario runs app.py as a child process
# against the WhatsApp Web simulator with the full numbers, and prints its figures as Markdown. ~45 minutes.
#
#   bash scripts/chaos.sh                      # every scenario, in this order
#   bash scripts/chaos.sh network phone        # only these
#
# Scenarios: browser_crash app_crash clean_stop network network_kill phone soak. Output goes to the terminal
# and to build/chaos/<UTC time>.md; the exit status is non-zero if any scenario failed one of its checks.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh

declare -A COMMAND=(
  [browser_crash]="bench.chaos.browser_crash --kills 20 --numbers 3"
  [app_crash]="bench.chaos.app_crash --rounds 3 --numbers 5 --messages 1000"
  [clean_stop]="bench.chaos.clean_stop --rounds 3 --numbers 5"
  [network]="bench.chaos.network --outage 60 --numbers 5"
  [network_kill]="bench.chaos.network --outage 60 --numbers 5 --kill-during"
  [phone]="bench.chaos.phone --observe 180"
  [soak]="bench.chaos.soak --minutes 30 --numbers 10"
)
ORDER=(browser_crash app_crash clean_stop network network_kill phone soak)
[ $# -gt 0 ] && ORDER=("$@")

mkdir -p build/chaos
report="build/chaos/$(date -u +%Y%m%dT%H%M%SZ).md"
failed=()
echo "# Chaos run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null)" \
  | tee "$report"
for name in "${ORDER[@]}"; do
  if [ -z "${COMMAND[$name]:-}" ]; then
    echo "unknown scenario: $name (known: ${!COMMAND[*]})" >&2; exit 2
  fi
  started=$(date +%s)
  { echo; echo "## $name"; echo; echo "Command: \`.venv/bin/python -m ${COMMAND[$name]}\`"
    echo "Load before: $(uptime | sed 's/.*load average/load average/')"; } | tee -a "$report"
  # shellcheck disable=SC2086  # the command's words are meant to split
  .venv/bin/python -m ${COMMAND[$name]} 2>>"$report.log" | tee -a "$report"
  status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || failed+=("$name")
  { echo; echo "Took $(( $(date +%s) - started )) s; load after: $(uptime | sed 's/.*load average/load average/');" \
      "exit status $status"; } | tee -a "$report"
done
echo
echo "Report: $report (stderr of the scenarios: $report.log)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "All scenarios passed."
