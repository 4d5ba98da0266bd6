#!/usr/bin/env python3
"""Checks what `tests/bench/run` printed (its standard output, in a file).

    tests/bench/check_run.py OUTPUT

The benchmarks do not fail on a number (issue 8); this checks that they
ran and measured what they say, so that a clean clone's CI proves the
benchmark itself works (tests/run-all.sh runs `tests/bench/run --quick`
and this on its output):

- every line on standard output is `figure NAME VALUE UNIT` (VALUE a
  number) or a comment (`#`);
- every figure issue 8 asks for is there, and for each broker its
  durability as measured (the poor link's only if the run did not say
  it skipped it: it needs root);
- gom's own runs lost nothing: every report sent was acknowledged, none
  refused, none left unfinished;
- gom-hub synced at least once for every report it acknowledged one at a
  time (durability_gom_syncs_per_ack >= 1), as DESIGN.md rule 3 says.

Exit 0, or 1 with one line per fault on standard error.
"""
import re
import sys

#  What issue 8 asks for, by the names tests/bench/run gives them.
REQUIRED = [
    # 1. durable ingest: rate, latency, hub memory and CPU
    "ingest_durable", "ingest_durable_p50", "ingest_durable_p99",
    "ingest_durable_hub_peak_rss", "ingest_durable_hub_cpu",
    "ingest_half", "ingest_half_p50", "ingest_half_p99",
    "ingest_floor", "durability_gom_syncs_per_ack",
    # 2. the brokers, each with its durability
    "ingest_rabbitmq_classic", "ingest_rabbitmq_quorum", "ingest_nats_js",
    "ingest_mosquitto",
    "durability_rabbitmq_classic_syncs_per_ack",
    "durability_rabbitmq_quorum_syncs_per_ack",
    "durability_nats_js_syncs_per_ack", "durability_mosquitto_syncs_per_ack",
    # 3. reconnect storm
    "storm_drain", "storm_hub_peak_rss", "storm_hub_fds_peak",
    # 4. poor link, gom and MQTT
    "poorlink_gom_ideal", "poorlink_gom_loss10_drain",
    "poorlink_gom_loss10_ratio", "poorlink_mqtt_loss10_drain",
    "poorlink_mqtt_loss10_ratio",
    # 5. agent footprint
    "agent_idle_rss", "agent_idle_wakeups", "agent_binary_stripped",
    "agent_wire_per_report", "agent_wire_per_report_amortized",
    "agent_wire_handshake",
    # 6. consolidation for 10,000 units
    "consolidation_totals_median", "consolidation_arrivals_median",
]

#  gom's own load runs (gom_load): what they sent must all be acknowledged.
GOM_RUNS = ["ingest_durable", "ingest_half", "storm"]

FIGURE = re.compile(r"^figure ([a-z0-9_]+) (-?[0-9]+(?:\.[0-9]+)?) (\S+)$")


def check(lines):
    faults = []
    figures = {}
    poorlink_skipped = False
    stated = {}  # durability NAME: what the run said of it
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if line.startswith("# poor link: skipped"):
            poorlink_skipped = True
        if line.startswith("# durability "):
            words = line.split(" ", 3)
            if len(words) == 4:
                stated[f"durability_{words[2]}_syncs_per_ack"] = words[3]
        if line.startswith("#"):
            continue
        m = FIGURE.match(line)
        if not m:
            faults.append(f"line {n}: not a figure line: {line[:80]!r}")
            continue
        if m.group(1) in figures:
            faults.append(f"line {n}: figure {m.group(1)} given twice")
        figures[m.group(1)] = float(m.group(2))
    for name in REQUIRED:
        if name not in figures and not (
                poorlink_skipped and name.startswith("poorlink_")):
            why = f" (the run: {stated[name]})" if name in stated else ""
            faults.append(f"figure {name} is missing{why}")
    for run in GOM_RUNS:
        sent = figures.get(run + "_reports")
        acked = figures.get(run + "_acked")
        if sent is None or acked is None:
            faults.append(f"{run}: no _reports or _acked figure")
        elif acked != sent or sent <= 0:
            faults.append(f"{run}: {acked:.0f} of {sent:.0f} reports "
                          "acknowledged")
        for what in ("nacked", "unfinished"):
            value = figures.get(f"{run}_{what}")
            if value is None:
                faults.append(f"{run}: no _{what} figure")
            elif value != 0:
                faults.append(f"{run}: {value:.0f} reports {what}")
    syncs = figures.get("durability_gom_syncs_per_ack")
    if syncs is not None and syncs < 1:
        faults.append(f"gom-hub synced {syncs} times a report acknowledged "
                      "one at a time: less than once")
    return faults, figures


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        faults, figures = check(f.readlines())
    for fault in faults:
        print(f"check_run: {fault}", file=sys.stderr)
    print(f"check_run: {len(figures)} figures, {len(faults)} faults",
          file=sys.stderr)
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
