#!/usr/bin/env bash
# One fuzz target's smoke run: its committed seeds, then SECONDS of mutations with a printed seed.
#   run_fuzz.sh TARGET SEED_CORPUS WORK_DIR SECONDS
# IBO_FUZZ_SEED replays a run; a crash leaves its input in WORK_DIR/artifacts and fails the test.
set -euo pipefail
target=$1 seeds=$2 work=$3 seconds=$4
seed=${IBO_FUZZ_SEED:-$(( (RANDOM << 15 | RANDOM) + 1 ))}
rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/artifacts"
echo "fuzz: $(basename "$target") -seed=$seed -max_total_time=$seconds (replay: IBO_FUZZ_SEED=$seed)"
# A dictionary tests/fuzz/<name>.dict, when there is one (json.dict is shared through symlinks).
dict=$(dirname "$(dirname "$seeds")")/$(basename "$seeds").dict
dict_arg=()
[[ -f $dict ]] && dict_arg=(-dict="$dict")
# New inputs go to the scratch corpus; the committed seeds are only read.
if "$target" "${dict_arg[@]}" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" 2>"$work/log"; then
  grep -E '^(#[0-9]+.*DONE|Done|stat::number_of_executed_units|stat::new_units_added)' "$work/log" || true
  exit 0
fi
tail -n 80 "$work/log"
echo "fuzz: $(basename "$target") FAILED with -seed=$seed; what it wrote to $work/artifacts:" >&2
ls -1 "$work/artifacts" >&2
exit 1
