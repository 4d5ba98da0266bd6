#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz, -DGOM_FUZZ=ON) and,
# for each target, replays its whole seed corpus (tests/fuzz/corpus/TARGET)
# and then fuzzes it for a bounded time. New corpus entries go to
# build-fuzz/corpus/TARGET (kept between runs, never the repository's);
# crash, leak and timeout inputs to build-fuzz/artifacts/. Exits non-zero
# if any target fails, printing the input and the command to reproduce.
#
#   tests/fuzz/run.sh                  # short: 15 s a target (CI)
#   tests/fuzz/run.sh --seconds 60     # longer, one target at a time
#   tests/fuzz/run.sh --long           # 10 min a target, a worker a core
#   tests/fuzz/run.sh --replay         # the corpus only, no fuzzing
#   tests/fuzz/run.sh fuzz_csv fuzz_form   # only these targets
#
# Options: --seconds N (per target), --long (600 s per target and
# --jobs = cores), --jobs N (parallel workers per target, libFuzzer -fork),
# --replay, --no-build. Environment: GOM_FUZZ_BUILD (build folder,
# default build-fuzz), GOM_FUZZ_BUILD_JOBS (make jobs, default 2).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
here=tests/fuzz
build=${GOM_FUZZ_BUILD:-build-fuzz}
seconds=15
jobs=1
replay_only=0
do_build=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    --long) seconds=600; jobs=$(nproc); shift ;;
    --jobs) jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    --replay) replay_only=1; shift ;;
    --no-build) do_build=0; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    fuzz_*) targets+=("$1"); shift ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
all=(fuzz_wire fuzz_report_json fuzz_csv fuzz_xlsx fuzz_xlsx_sheet fuzz_form
     fuzz_units fuzz_config)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# Per target: the largest input to make (above the largest seed, so that no
# seed is cut) and the dictionary.
max_len() {
  case "$1" in
    fuzz_wire|fuzz_report_json) echo 8192 ;;
    fuzz_csv|fuzz_xlsx) echo 16384 ;;
    fuzz_form) echo 24576 ;;
    fuzz_xlsx_sheet) echo 32768 ;;
    *) echo 4096 ;;
  esac
}
dict() {
  case "$1" in
    fuzz_report_json|fuzz_form) echo "$here/dict/json.dict" ;;
    fuzz_csv) echo "$here/dict/csv.dict" ;;
    fuzz_units) echo "$here/dict/units.dict" ;;
    fuzz_xlsx_sheet) echo "$here/dict/xml.dict" ;;
    fuzz_config) echo "$here/dict/config.dict" ;;
    *) echo "" ;;
  esac
}

start=$(date +%s)
if [ "$do_build" = 1 ]; then
  command -v clang >/dev/null || {
    echo "run.sh: clang is missing: deploy/install-deps.sh installs it" >&2
    exit 2
  }
  cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DGOM_FUZZ=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target fuzz_all -j"${GOM_FUZZ_BUILD_JOBS:-2}" \
    >"$build/fuzz-build.log" 2>&1 || {
    tail -40 "$build/fuzz-build.log"
    echo "run.sh: build failed (log: $build/fuzz-build.log)" >&2
    exit 2
  }
fi
bin=$build/tests/fuzz
mkdir -p "$build/artifacts" "$build/corpus" "$build/logs"
# Scratch files of the targets (a parser reads a path): in RAM if we can.
scratch_base=/dev/shm
[ -w "$scratch_base" ] || scratch_base=${TMPDIR:-/tmp}
export GOM_FUZZ_TMP
GOM_FUZZ_TMP=$(mktemp -d "$scratch_base/gom-fuzz-run.XXXXXX")
trap 'rm -rf "$GOM_FUZZ_TMP"' EXIT
# Every sanitizer finding is fatal; leaks too (as in tests/run-all.sh).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "run.sh: no $bin/$t" >&2; exit 2; }
  corpus=$here/corpus/${t#fuzz_}
  log=$build/logs/$t.log
  d=$(dict "$t")
  dict_opt=()
  [ -n "$d" ] && dict_opt=(-dict="$d")
  common=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048
          -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1)
  stamp=$(mktemp "$build/artifacts/.stamp.XXXXXX")
  first=${#summary[@]}
  # 1. Replay: every input of the repository's corpus, once.
  if ! "$bin/$t" "${common[@]}" -runs=0 "$corpus" >"$log" 2>&1; then
    failed+=("$t")
    summary+=("$t: FAILED replaying $corpus (log: $log)")
  elif [ "$replay_only" = 1 ]; then
    n=$(ls "$corpus" | wc -l)
    summary+=("$t: replayed $n inputs")
  else
    # 2. Fuzz for a bounded time from the repository's corpus and what
    #    earlier runs found (build-fuzz/corpus/TARGET, where new entries go).
    mkdir -p "$build/corpus/$t"
    replayed=$(wc -l <"$log")
    par=()
    [ "$jobs" -gt 1 ] && par=(-fork="$jobs")
    if "$bin/$t" "${common[@]}" "${dict_opt[@]}" "${par[@]}" \
         -max_len="$(max_len "$t")" -max_total_time="$seconds" \
         "$build/corpus/$t" "$corpus" >>"$log" 2>&1; then
      fuzzed=$(tail -n +"$((replayed + 1))" "$log")
      runs=$( (grep -ao 'stat::number_of_executed_units: *[0-9]*' \
                 <<<"$fuzzed" || true) | awk '{s += $2} END {print s + 0}')
      #  -fork prints no final stats: its last status line says.
      [ "$runs" != 0 ] ||
        runs=$( (grep -ao '^#[0-9]*' <<<"$fuzzed" || true) | tail -1 |
                tr -d '#')
      cov=$( (grep -ao 'cov: [0-9]* ft: [0-9]*' <<<"$fuzzed" || true) |
             tail -1)
      summary+=("$t: ok, $runs inputs in ${seconds} s ($cov)")
    else
      failed+=("$t")
      summary+=("$t: FAILED while fuzzing (log: $log)")
    fi
  fi
  for a in $(find "$build/artifacts" -maxdepth 1 -name "$t-*" \
               -newer "$stamp" 2>/dev/null); do
    summary+=("  input: $a"
              "  reproduce: $bin/$t $a"
              "  once fixed, keep it in $corpus/ (tests/fuzz/README.md)")
  done
  rm -f "$stamp"
  case " ${failed[*]} " in
    *" $t "*) grep -a -m1 -A12 \
                "==ERROR\|runtime error\|^fuzz: \|ERROR: libFuzzer" "$log" |
                head -20 || true ;;
  esac
  printf 'run.sh: %s\n' "${summary[@]:$first}"
done
echo "run.sh: ${#targets[@]} targets in $(( $(date +%s) - start )) s"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run.sh: FAILED: ${failed[*]} (logs in $build/logs/)" >&2
  exit 1
fi
