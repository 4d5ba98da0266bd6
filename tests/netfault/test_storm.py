"""A reconnect storm after a partition (issue 7: "500 or more agents ...
each with a backlog, reconnecting at the same moment after a partition
ends").

Profile: the WAN cut (partition) while 500 simulated agents (one
gom_load process in the agents' namespace: each its own CURVE key,
enrolled at the hub, and its own DEALER connection) try to reach the hub
with 5 reports each of the Điện Biên table queued; libzmq's reconnect
wait is held at 1 s, so when the line comes back they all connect within
a second of each other: 500 handshakes, hellos and 2,500 reports at once.

Proves that every report is acknowledged and stored exactly once (2,500
rows, 2,500 distinct report_ids, none refused), that the hub lives
through it, and prints the drain time from the heal and the bytes per
report on the wire.
"""
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

AGENTS = int(os.environ.get('GOM_STORM_AGENTS', '500'))
REPORTS = 5
PARTITION_S = 6
DEADLINE = 180
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..'))
FORM = os.path.join(ROOT, 'deploy', 'forms', 'DB-LDLD-BDG-2016-2020.json')
GOM_LOAD = os.environ.get('GOM_LOAD',
                          os.path.join(ROOT, 'build', 'tests', 'gom_load'))


def figures(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == 'figure':
            out[parts[1]] = float(parts[2])
    return out


class StormTest(netlab.NetFaultCase):
    lab_tag = 'storm'

    def test_reconnect_storm(self):
        lab = self.lab
        total = AGENTS * REPORTS
        hub = self.new_hub(max_connections=0, max_reports_per_minute=0,
                           heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000)
        cp = subprocess.run([GOM_LOAD, 'prepare', '--hub-config', hub.cfg,
                             '--agents', str(AGENTS), '--units-per-agent',
                             '1'], capture_output=True, text=True,
                            timeout=120)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        hub.start()
        hub.wait_listening()
        lab.partition()
        wire0 = lab.wire_bytes()
        load = subprocess.Popen(
            lab.prefix(lab.agents_ns) + [
                GOM_LOAD, 'run', '--hub-config', hub.cfg, '--form', FORM,
                '--mode', 'storm', '--agents', str(AGENTS), '--reports',
                str(REPORTS), '--hub-endpoint', hub.endpoint,
                '--reconnect-max-ms', '1000', '--time-limit',
                str(DEADLINE), '--name', 'storm'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: load.poll() is None and load.kill())
        self.say('%d agents waiting behind the cut for %d s', AGENTS,
                 PARTITION_S)
        time.sleep(PARTITION_S)        # the partition's length, not a wait
        self.assertIsNone(load.poll(), 'gom_load ended during the cut')
        self.assertEqual(hub.status()['reports'], 0)
        lab.heal()
        t0 = time.monotonic()
        out, err = load.communicate(timeout=DEADLINE + 30)
        drain = time.monotonic() - t0
        self.assertEqual(load.returncode, 0,
                         'gom_load: %s\n%s' % (out[-2000:], err[-2000:]))
        fig = figures(out)
        self.say('drained %d reports from %d agents in %.1f s after the '
                 'heal (gom_load: %s resent, %s reconnects)', total, AGENTS,
                 drain, fig.get('storm_resent'), fig.get('storm_reconnects'))
        self.assertEqual(fig.get('storm_acked'), total, out)
        self.assertEqual(fig.get('storm_nacked'), 0, out)
        hub.assert_alive()
        db = sqlite3.connect('file:%s?mode=ro' % os.path.join(hub.dir,
                                                                'hub.db'),
                             uri=True)
        try:
            rows, ids, keys = db.execute(
                'SELECT count(*), count(DISTINCT report_id), '
                'count(DISTINCT agent_key) FROM reports').fetchone()
        finally:
            db.close()
        self.assertEqual((rows, ids, keys), (total, total, AGENTS))
        self.scenario('storm_%d' % AGENTS, hub, total, drain, wire0,
                      stored=rows)


if __name__ == '__main__':
    netlab.main()
