#!/usr/bin/env python3
"""Pipeline benchmark: N real gom-agent processes, each with M reports
queued while the hub is down, then a real gom-hub that is killed with
SIGKILL K times during the delivery and restarted at once.

Prints the figures (submit rate, delivery time and rate, resends absorbed as
duplicates) and checks the end state against ground truth computed here:
exactly N*M reports stored, each report_id and each natural key once, every
agent's receipt equal to the hub's. Exits 1 if any check fails.

    python3 tests/bench/bench_pipeline.py [--agents 20] [--reports 500]
                                          [--kills 3] [--timeout 900]

Binaries: $GOM_HUB and $GOM_AGENT, or build/hub/gom-hub and
build/agent/gom-agent. Everything runs on 127.0.0.1 in a temporary folder.
"""
import argparse
import json
import os
import platform
import sqlite3
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'integration'))
import gomtest  # noqa: E402


def count_rows(db, sql):
    """One short read of a sqlite file another process is writing."""
    con = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=10)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--agents', type=int, default=20)
    ap.add_argument('--reports', type=int, default=500,
                    help='reports per agent')
    ap.add_argument('--kills', type=int, default=3)
    ap.add_argument('--timeout', type=float, default=900)
    args = ap.parse_args()
    total = args.agents * args.reports
    deadline = time.monotonic() + args.timeout

    case = gomtest.GomTestCase('run')
    case.setUp()
    try:
        hub = case.new_hub()
        # Resends after each kill count against the per-agent limit (600 a
        # minute by default): off, so that this measures delivery.
        hub.set('max_reports_per_minute', '0')
        agents = []
        for a in range(args.agents):
            unit = 'U%03d' % a
            agent = case.new_agent(hub, [unit], name='agent%03d' % a)
            for key, value in (('reconnect_ivl_ms', 1000),
                               ('reconnect_ivl_max_ms', 5000),
                               ('resend_min_ms', 2000)):
                agent.set(key, value)
            agents.append((unit, agent))

        # Reports: 24 cells and a Vietnamese narrative each.
        t0 = time.monotonic()
        for unit, agent in agents:
            files = []
            for i in range(args.reports):
                cells = {'C%02d' % c: (i * 31 + c) % 1000 for c in range(24)}
                files.append(gomtest.make_report(
                    unit, form='BENCH', period='P%05d' % i, cells=cells,
                    texts={'narrative': 'Tình hình chung của %s, kỳ %d: '
                           'đã tổ chức tập huấn bình đẳng giới.' % (unit, i)},
                    dir=agent.dir))
            for k in range(0, len(files), 200):
                agent.submit_ok(*files[k:k + 200])
        submit_s = time.monotonic() - t0

        for _, agent in agents:
            agent.start()
        t1 = time.monotonic()
        hub.start()
        hub.wait_listening()
        hub_db = hub.db_path()
        kills_done = 0
        thresholds = [total * (k + 1) // (args.kills + 1)
                      for k in range(args.kills)]
        stored = 0
        while True:
            if time.monotonic() > deadline:
                raise SystemExit('bench: timed out with %d of %d stored'
                                 % (stored, total))
            try:
                stored = count_rows(hub_db, 'SELECT count(*) FROM reports')
            except sqlite3.Error:
                stored = stored
            if kills_done < len(thresholds) and stored >= thresholds[kills_done]:
                hub.kill9()
                kills_done += 1
                print('kill -9 of the hub #%d at %d stored' % (kills_done,
                                                             stored),
                      flush=True)
                hub.start()
                hub.wait_listening()
            acked = sum(count_rows(os.path.join(a.dir, 'outbox.db'),
                                   "SELECT count(*) FROM outbox "
                                   "WHERE state='acked'")
                        for _, a in agents)
            if acked == total and kills_done == len(thresholds):
                break
            time.sleep(0.1)
        deliver_s = time.monotonic() - t1

        # Ground truth.
        reports = hub.reports()
        ids = set(r['report_id'] for r in reports)
        keys = set((r['unit'], r['form'], r['period'], r['revision'])
                   for r in reports)
        hub_receipt = dict((r['report_id'], r['receipt']) for r in reports)
        mismatched = 0
        attempts = 0
        for unit, agent in agents:
            for r in agent.list():
                attempts += r['attempts'] or 0
                if (r['state'] != 'acked'
                        or hub_receipt.get(r['report_id']) != r['receipt']):
                    mismatched += 1
        status = hub.status()
        for _, agent in agents:
            agent.stop()
        hub.stop()

        print('machine: %s, %d cores, %s' % (platform.node(),
                                             os.cpu_count(),
                                             platform.platform()))
        print('agents %d, reports per agent %d, total %d, hub kill -9 x%d'
              % (args.agents, args.reports, total, kills_done))
        print('submit: %.1f s for %d reports (%.0f reports/s, each fsync\'d)'
              % (submit_s, total, total / submit_s))
        print('delivery: %.1f s from hub start to the last ack '
              '(%.0f reports/s, with %d restarts)'
              % (deliver_s, total / deliver_s, kills_done))
        print('sends %d for %d reports (%d resends); hub counted %d '
              'duplicates, %d nacks' % (attempts, total, attempts - total,
                                       status['duplicates'], status['nacks']))
        checks = [
            ('stored reports == %d' % total, len(reports) == total),
            ('distinct report_ids == %d' % total, len(ids) == total),
            ('distinct natural keys == %d' % total, len(keys) == total),
            ('every agent report acked with the hub\'s receipt',
             mismatched == 0),
        ]
        ok = True
        for what, good in checks:
            print('%s: %s' % ('PASS' if good else 'FAIL', what))
            ok = ok and good
        return 0 if ok else 1
    finally:
        case.doCleanups()
        case.tearDown() if hasattr(case, 'tearDown') else None


if __name__ == '__main__':
    sys.exit(main())
