#!/usr/bin/env python3
"""Benchmark: the dashboard's JSON API for a province of 10,000 units.

Makes the province with bench_totals (10,000 communes in 100 districts, a
form of 100 cells, one report per commune, written through the hub's own
store), serves it with a real `gom-hub run` and times, over HTTP on
loopback, each API call the page makes: cold (the first call after the
data changed: nothing cached), warm (the same call again), and while an
agent delivers new reports (every call finds the cache stale). With
--browser it also loads the page in headless Chromium (tests/e2e's
playwright-core) and times the arrivals table for the 10,000 units.

    GOM_HUB=build/hub/gom-hub GOM_AGENT=build/agent/gom-agent \\
    BENCH_TOTALS=build/tests/bench_totals \\
        python3 tests/bench/bench_dashboard.py [--units 10000] [--runs 20]

Prints one figure per line: `name value unit`.
"""
import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import gomtest  # noqa: E402

BENCH_TOTALS = os.environ.get(
    'BENCH_TOTALS', os.path.join(gomtest.ROOT, 'build', 'tests',
                                 'bench_totals'))


def make_province(work, units):
    """The province (bench_totals: communes in districts of 100, a form
    of 100 cells, one report each) in a hub folder: returns the
    gomtest.Hub (not started)."""
    env = dict(os.environ, GOM_BENCH_KEEP='1')
    out = subprocess.run([BENCH_TOTALS, str(units), '1'], env=env,
                         capture_output=True, text=True, timeout=900,
                         check=True).stdout
    kept = [line.split(' ', 1)[1] for line in out.splitlines()
            if line.startswith('kept ')][0]
    hub = gomtest.Hub()
    hub.init(os.path.join(work, 'hub'), gomtest.free_port())
    for name, dest in (('checked.db', 'hub.db'),
                       ('checked-keys.db', 'keys.db'),
                       ('units.csv', 'units.csv')):
        shutil.copy(os.path.join(kept, name), os.path.join(hub.dir, dest))
    shutil.copy(os.path.join(kept, 'forms', 'BENCH.json'),
                os.path.join(hub.dir, 'forms'))
    shutil.rmtree(kept, ignore_errors=True)
    return hub


def call(port, cookie, path):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    t0 = time.perf_counter()
    conn.request('GET', path, headers={'Cookie': cookie})
    resp = conn.getresponse()
    body = resp.read()
    took = time.perf_counter() - t0
    conn.close()
    if resp.status != 200:
        raise SystemExit('%s: %d %r' % (path, resp.status, body[:200]))
    return took, len(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--units', type=int, default=10000)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--browser', action='store_true')
    ap.add_argument('--flood', type=int, default=1000,
                    help='reports sent while the API (and page) is watched')
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix='gom-bench-dash-')
    hub = make_province(work, args.units)
    port = gomtest.free_port()
    hub.enable_http(port)
    # One agent sends thousands at once here; the default per-agent limit
    # (600 a minute) would make this a benchmark of the limit.
    hub.set('max_reports_per_minute', '0')
    hub.add_user('bench', 'read', 'bench-password')
    hub.start()
    try:
        hub.wait_log('dashboard on', 60)
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
        conn.request('POST', '/api/login', body=json.dumps(
            {'user': 'bench', 'password': 'bench-password'}),
            headers={'Content-Type': 'application/json'})
        resp = conn.getresponse()
        resp.read()
        cookie = resp.getheader('Set-Cookie').split(';')[0]
        q = 'form=BENCH&period=2026'
        paths = [('arrivals', '/api/arrivals?' + q),
                 ('totals', '/api/totals?' + q),
                 ('totals_district', '/api/totals?' + q + '&root=D7'),
                 ('units', '/api/units'),
                 ('forms', '/api/forms'),
                 ('layout', '/api/layout?form=BENCH'),
                 ('agents', '/api/agents'),
                 ('status', '/api/status')]
        print('machine %s, %d cores' % (os.uname().nodename,
                                        os.cpu_count()))
        print('units %d' % args.units)
        for name, path in paths:
            cold, size = call(port, cookie, path)
            warm = sorted(call(port, cookie, path)[0]
                          for _ in range(args.runs))
            print('api_%s_cold_ms %.1f' % (name, cold * 1000))
            print('api_%s_warm_p50_ms %.1f' % (name,
                                                1000 * warm[len(warm) // 2]))
            print('api_%s_bytes %d' % (name, size))

        # While reports arrive: an agent sends revision 2 of many units.
        n_new = min(args.flood, args.units)
        agent = gomtest.Agent()
        agent.init(os.path.join(work, 'agent'), hub.endpoint, hub.key,
                   ['C%d' % i for i in range(n_new)])
        hub.enroll(agent.key, ['C%d' % i for i in range(n_new)])
        files = []
        for i in range(n_new):
            cells = {'R%d.c%d' % (r, c): 0 for r in range(10)
                     for c in range(10)}
            files.append(gomtest.make_report(
                'C%d' % i, form='BENCH', period='2026', revision=2,
                cells=cells, texts={}, dir=os.path.join(work, 'files')))
        agent.submit_ok(*files)
        page = None
        if args.browser:
            page = subprocess.Popen(
                ['node', os.path.join(HERE, 'dashboard_page.mjs'),
                 'http://127.0.0.1:%d/' % port, 'bench', 'bench-password',
                 str(max(1, args.units // 100))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for line in page.stdout:
                if line.strip() == 'READY':
                    break
                print(line.rstrip())
        t_flood = time.monotonic()
        agent.start()
        busy = {name: [] for name, _ in paths[:2]}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for name, path in paths[:2]:
                busy[name].append(call(port, cookie, path)[0])
            if agent.status().get('acked', 0) >= n_new:
                break
        flood_s = time.monotonic() - t_flood
        print('flood_reports %d' % n_new)
        print('flood_arrivals_per_s %.0f' % (n_new / flood_s))
        if page:
            page.stdin.write('done\n')
            page.stdin.flush()
            for line in page.stdout:
                print(line.rstrip())
            page.wait(60)
        for name, times in busy.items():
            times.sort()
            print('api_%s_during_arrivals_p50_ms %.1f' % (
                name, 1000 * times[len(times) // 2]))
            print('api_%s_during_arrivals_p95_ms %.1f' % (
                name, 1000 * times[int(len(times) * 0.95)]))
            print('api_%s_during_arrivals_max_ms %.1f' % (
                name, 1000 * times[-1]))
            print('api_%s_during_arrivals_calls %d' % (name, len(times)))
        agent.stop()
    finally:
        hub.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
