#!/usr/bin/env python3
"""check_run.py must pass a healthy run and fail each kind of broken one.

A real `tests/bench/run --quick` output (tests/fixtures/bench/, 2026-12-01,
the 2-core VM) is checked as it is, then changed one way at a time: each
change must give exactly the fault it should. Run by ctest (unit_bench_check).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_run  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "fixtures", "bench", "quick-run.out")


def load():
    with open(FIXTURE, encoding="utf-8") as f:
        return f.readlines()


def without(lines, prefix):
    return [l for l in lines if not l.startswith(prefix)]


def replaced(lines, prefix, line):
    return [line + "\n" if l.startswith(prefix) else l for l in lines]


def main():
    failures = []
    cases = []

    def expect(what, lines, want):
        cases.append(what)
        faults, _ = check_run.check(lines)
        if want is None:
            if faults:
                failures.append(f"{what}: faults {faults}, none expected")
        elif not any(want in f for f in faults):
            failures.append(f"{what}: no fault saying {want!r} in {faults}")

    good = load()
    expect("the run as it was", good, None)
    expect("a line that is not a figure", good + ["oops\n"],
           "not a figure line")
    expect("a value that is not a number",
           replaced(good, "figure storm_drain ", "figure storm_drain fast s"),
           "not a figure line")
    expect("a figure twice", good + ["figure storm_drain 1.0 s\n"],
           "given twice")
    expect("a broker's figure missing",
           without(good, "figure ingest_nats_js "), "ingest_nats_js is missing")
    expect("a broker's durability missing",
           without(good, "figure durability_mosquitto_syncs_per_ack"),
           "durability_mosquitto_syncs_per_ack is missing")
    expect("a report not acknowledged",
           replaced(good, "figure storm_acked ",
                    "figure storm_acked 9999 reports"),
           "9999 of 10000")
    expect("a report refused",
           replaced(good, "figure ingest_half_nacked ",
                    "figure ingest_half_nacked 1 reports"),
           "1 reports nacked")
    expect("a report unfinished",
           replaced(good, "figure ingest_durable_unfinished ",
                    "figure ingest_durable_unfinished 3 reports"),
           "3 reports unfinished")
    expect("gom-hub acknowledging without a sync",
           replaced(good, "figure durability_gom_syncs_per_ack",
                    "figure durability_gom_syncs_per_ack 0.50 syncs/ack"),
           "less than once")
    expect("gom's durability not measured, said why",
           replaced(without(good, "figure durability_gom_syncs_per_ack"),
                    "# durability gom ",
                    "# durability gom not measured (strace could not "
                    "attach to it)"),
           "strace could not attach")
    no_poorlink = without(good, "figure poorlink_")
    expect("the poor link's figures missing", no_poorlink,
           "poorlink_gom_loss10_ratio is missing")
    expect("the poor link skipped, as the run said",
           no_poorlink + ["# poor link: skipped (needs root for network "
                          "namespaces)\n"], None)
    for f in failures:
        print("test_check_run: FAIL " + f)
    print(f"test_check_run: {len(cases) - len(failures)} of {len(cases)} "
          "cases as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
