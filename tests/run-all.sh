#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: installs what is
# missing, checks the formatting, and runs every unit and integration test
# (ctest) twice: on a build with AddressSanitizer and
# UndefinedBehaviorSanitizer, then on the plain build users run (where the
# valgrind test runs; it skips itself under the sanitizers); then the
# benchmarks' quick run, checked (tests/bench/check_run.py), and the
# libFuzzer targets, briefly.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash deploy/install-deps.sh --tests --bench
# The dashboard's browser tests: Debian's chromium and playwright-core.
bash tests/e2e/setup.sh
build=${GOM_TEST_BUILD:-build-test}
plain=${GOM_TEST_PLAIN_BUILD:-build-test-plain}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DGOM_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cmake -S . -B "$plain" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGOM_SANITIZE=OFF \
  >/dev/null
cmake --build "$plain" -j"$(nproc)"
# Formatting: every C file as .clang-format says.
unformatted=$(clang-format --dry-run -Werror common/*.[ch] hub/*.[ch] \
  agent/*.[ch] tests/unit/*.[ch] tests/tools/*.c tests/fuzz/*.[ch] 2>&1 | grep -c 'warning:' || true)
if [ "$unformatted" != "0" ]; then
  echo "run-all: $unformatted places not formatted; run: clang-format -i common/*.[ch] hub/*.[ch] agent/*.[ch] tests/unit/*.[ch]"
  exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp}
echo "run-all: the suite on the sanitizer build ($build)"
(cd "$build" && ctest --output-on-failure --timeout 600 -j2 "$@")
echo "run-all: the suite on the plain build ($plain)"
(cd "$plain" && ctest --output-on-failure --timeout 600 -j2 "$@")
# The benchmarks (issue 8; tests/bench/README.md), their quick run on the
# plain build: they do not fail on a number, but check_run.py fails if a
# figure is missing or malformed, if gom's runs lost or refused a report,
# or if gom-hub acknowledged a report without a sync.
echo "run-all: the benchmarks' quick run on the plain build ($plain)"
plain_dir=$(cd "$plain" && pwd)
GOM_BENCH_BUILD=$plain_dir BENCH_BROKERS_BUILD=$plain_dir \
  tests/bench/run --quick </dev/null |
  tee "$plain/bench-quick.out"
python3 tests/bench/check_run.py "$plain/bench-quick.out"
# libFuzzer (tests/fuzz/README.md): every corpus replayed, then 6 s a
# target; clang's own build in build-fuzz.
bash tests/fuzz/run.sh --seconds 6
