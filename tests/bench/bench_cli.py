#!/usr/bin/env python3
"""Benchmark: `gom-hub totals` and `gom-hub arrivals` for a province of
10,000 units, whole processes timed, with the hub running (the command
asks it over DIR/hub.ask) and with --direct (the command reads hub.db).

Makes the province as bench_dashboard.py does (bench_totals: 10,000
communes in 100 districts, a form of 100 cells, one report each), serves
it with a real `gom-hub run` (dashboard on), checks once that each
command prints the same bytes either way, then times each command N times
(wall clock of the whole process, output to /dev/null): warm (nothing
stored since the hub's last answer) and, with --fresh N, each the first
command after an agent's report was acknowledged (the hub brings its
rollup up to date and writes the answer again). `gom-hub version` gives
the floor: starting the program (47 shared libraries) and nothing else.

    GOM_HUB=build/hub/gom-hub GOM_AGENT=build/agent/gom-agent \\
    BENCH_TOTALS=build/tests/bench_totals \\
        python3 tests/bench/bench_cli.py [--units 10000] [--runs 20]

Prints one line per figure: `figure NAME VALUE UNIT`.
"""
import argparse
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_dashboard import gomtest, make_province  # noqa: E402

FORM, PERIOD = 'BENCH', '2026'
COMMANDS = [('totals_json', ['totals', '--json']),
            ('totals_text', ['totals']),
            ('arrivals_json', ['arrivals', '--json']),
            ('arrivals_text', ['arrivals'])]


def run(hub, args, direct=False, out=subprocess.DEVNULL):
    """Seconds one whole command took (and its output when out is PIPE)."""
    argv = [gomtest.HUB_BIN] + args
    if args[0] != 'version':
        argv += ['--config', hub.cfg, '--form', FORM, '--period', PERIOD]
    if direct:
        argv.append('--direct')
    t0 = time.perf_counter()
    cp = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                        stderr=subprocess.PIPE, timeout=120)
    took = time.perf_counter() - t0
    if cp.returncode != 0:
        raise SystemExit('%s: status %d: %s' % (' '.join(argv),
                                                cp.returncode, cp.stderr))
    return took, cp.stdout


def figures(name, times):
    times = sorted(times)
    p95 = times[max(0, math.ceil(0.95 * len(times)) - 1)]
    print('figure %s_median %.1f ms' % (name, 1000 * statistics.median(times)))
    print('figure %s_p95 %.1f ms' % (name, 1000 * p95))
    sys.stdout.flush()


def listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--units', type=int, default=10000)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--fresh', type=int, default=10,
                    help='rounds of one new report, then each command')
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix='gom-bench-cli-')
    hub = make_province(work, args.units)
    hub.enable_http(gomtest.free_port())
    hub.set('max_reports_per_minute', '0')
    hub.start()
    agent = None
    try:
        hub.wait_log('dashboard on', 60)
        sock = os.path.join(hub.dir, 'hub.ask')
        gomtest.wait_for(lambda: listening(sock), 30, 'the ask socket',
                         logs=[hub])
        print('machine %s, %d cores; units %d, %d runs; load average %.2f'
              % (os.uname().nodename, os.cpu_count(), args.units, args.runs,
                 os.getloadavg()[0]))
        # The same bytes either way (the first ask also warms the answer).
        for name, cmd in COMMANDS:
            first, asked = run(hub, cmd, out=subprocess.PIPE)
            _, direct = run(hub, cmd, direct=True, out=subprocess.PIPE)
            if asked != direct:
                raise SystemExit('%s: the hub printed %d bytes, --direct '
                                 '%d, not the same' % (name, len(asked),
                                                       len(direct)))
            print('figure %s_bytes %d bytes' % (name, len(asked)))
            print('figure %s_hub_first %.1f ms' % (name, 1000 * first))
        figures('version', [run(hub, ['version'])[0]
                            for _ in range(args.runs)])
        for name, cmd in COMMANDS:
            figures(name + '_hub', [run(hub, cmd)[0]
                                    for _ in range(args.runs)])
            figures(name + '_direct', [run(hub, cmd, direct=True)[0]
                                       for _ in range(args.runs)])

        # The first command after each new report: an agent revises C0.
        if args.fresh:
            agent = gomtest.Agent()
            agent.init(os.path.join(work, 'agent'), hub.endpoint, hub.key,
                       ['C0'])
            hub.enroll(agent.key, ['C0'])
            agent.start()
            fresh = {name: [] for name, _ in COMMANDS}
            for k in range(args.fresh):
                cells = {}
                for r in range(10):
                    for c in range(1, 10):
                        cells['R%d.c%d' % (r, c)] = k
                    cells['R%d.c0' % r] = 9 * k
                path = gomtest.make_report(
                    'C0', form=FORM, period=PERIOD, revision=2, cells=cells,
                    texts={}, dir=os.path.join(work, 'files'),
                    name='C0-%d.json' % k)
                gomtest.run_cli([gomtest.AGENT_BIN, 'submit', '--config',
                                 agent.cfg] + (['--revise'] if k else []) +
                                [path])
                gomtest.wait_for(
                    lambda: agent.status().get('acked', 0) >= k + 1, 60,
                    'report %d acknowledged' % (k + 1), logs=[hub, agent])
                for name, cmd in COMMANDS:
                    fresh[name].append(run(hub, cmd)[0])
            for name, _ in COMMANDS:
                figures(name + '_hub_after_arrival', fresh[name])
        print('load average at the end %.2f' % os.getloadavg()[0])
    finally:
        if agent:
            agent.cleanup()
        hub.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
