"""Crashes during a large batch (DESIGN.md rules 2, 3, 4 and 6).

Two agents each submit 1000 reports (GOM_CRASH_N; 300 cells each) in one
`submit` command; while they drain to the hub:
- the hub is killed with SIGKILL three times, each time as soon as its
  stored count has grown past a threshold, and restarted; right after each
  kill, every report an agent has recorded as acknowledged is already in
  the hub's database with the same receipt (acknowledge only after commit);
- in a second test the agents are killed with SIGKILL three times and
  restarted; nothing submitted is lost from their outboxes.
A third test kills `gom-agent submit` itself with SIGKILL part way through
a large command: every file it had answered `queued` for is in the outbox,
and running the command again takes the rest, each file exactly once.
Each test checks that at least two of its kills landed inside the batch.
At the end every report is stored exactly once (no report_id twice, no
natural key twice), both agents list all theirs as acked, and every
receipt in their lists is the hub's receipt for that report_id. The hub
database is read only through `gom-hub reports --json`.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import gomtest
from gomtest import GomTestCase, many_cells

PER_AGENT = int(os.environ.get('GOM_CRASH_N', '1000'))
KILLS = 3
# Kill as soon as the hub's stored count has grown by STEP since the last
# restart. The hub drains hundreds to thousands of reports a second, so the
# step is kept small enough for the kills to land inside the batch;
# _mid_batch checks that they did.
STEP = 150
CELLS = int(os.environ.get('GOM_CRASH_CELLS', '300'))


class CrashTest(GomTestCase):

    def _new_hub(self):
        hub = self.new_hub()
        # No per-key limit (600 at once, then 10 a second): it would make
        # the drain wait, not the kills land better.
        hub.set('max_reports_per_minute', 0)
        return hub

    def _setup(self):
        hub = self._new_hub()
        agents = []
        for n, unit in ((1, 'K01'), (2, 'K02')):
            a = self.new_agent(hub, unit, name='agent%d' % n)
            # A smaller window than the default keeps the batch in flight
            # long enough for the kills to land in the middle of it.
            a.set('window', 16)
            agents.append(a)
        ids = {}
        for a in agents:
            unit = a.get('units')
            fdir = os.path.join(self.tmp, 'files', a.name)
            # Realistically sized reports (a few hundred cells and some
            # text) so that the batch takes a while to drain.
            files = [self.report(unit, form='K%04d' % i, period='2026-H1',
                                 cells=many_cells(i, CELLS),
                                 texts={'T01': 'Tổng số nữ %d. ' % i * 20,
                                        'T02': 'Ghi chú'},
                                 dir=fdir)
                     for i in range(PER_AGENT)]
            t0 = time.monotonic()
            got = a.submit_ok(*files)
            sys.stderr.write('[%s: submit of %d files took %.1f s] '
                             % (a.name, len(files), time.monotonic() - t0))
            self.assertEqual(len(set(got.values())), PER_AGENT)
            ids[a.name] = set(got.values())
            self.assertEqual(a.status()['total'], PER_AGENT)
        return hub, agents, ids

    def _wait_progress(self, hub, total):
        """Waits until the hub has stored STEP more reports than now."""
        threshold = min(self._stored_count(hub) + STEP, total)
        gomtest.wait_for(lambda: self._stored_count(hub) >= threshold, 40,
                         'hub to store %d reports' % threshold,
                         logs=self.nodes, interval=0.05)

    def _mid_batch(self, seen, total):
        sys.stderr.write('[stored at the kills: %s of %d] ' % (seen, total))
        mid = [n for n in seen if n < total]
        self.assertGreaterEqual(len(mid), 2, 'fewer than two kills landed '
                                'in the middle of the batch: the test '
                                'proved little')

    def _stored_count(self, hub):
        return hub.status()['reports']

    def _check_acked_are_stored(self, hub, agents):
        """Hub down: whatever an agent counts as acked is on the hub's
        disk with the same receipt."""
        stored = {r['report_id']: r['receipt'] for r in hub.reports()}
        for a in agents:
            for r in a.list():
                if r['state'] == 'acked':
                    self.assertTrue(
                        r['report_id'] in stored,
                        '%s has an ack (receipt %s) for report %s, which '
                        'the hub does not have' % (a.name, r['receipt'],
                                                    r['report_id']))
                    self.assertEqual(r['receipt'], stored[r['report_id']])
        return len(stored)

    def _finish(self, hub, agents, ids):
        for a in agents:
            rows = self.wait_all_acked(a, PER_AGENT, timeout=60)
            self.assertEqual({r['report_id'] for r in rows}, ids[a.name])
        self.assert_hub_whole(hub, agents, expect_total=2 * PER_AGENT)
        self.assertEqual(hub.status()['reports'], 2 * PER_AGENT)
        for a in agents:
            a.stop()
        hub.stop()

    def test_kill9_hub_during_batch(self):
        hub, agents, ids = self._setup()
        total = 2 * PER_AGENT
        hub.start()
        hub.wait_listening()
        for a in agents:
            a.start()
        seen = []
        for k in range(KILLS):
            self._wait_progress(hub, total)
            hub.kill9()
            n = self._check_acked_are_stored(hub, agents)
            seen.append(n)
            for a in agents:
                a.assert_alive()
            hub.start()
            hub.wait_listening()
        self._mid_batch(seen, total)
        self._finish(hub, agents, ids)

    def test_kill9_agents_during_batch(self):
        hub, agents, ids = self._setup()
        total = 2 * PER_AGENT
        hub.start()
        hub.wait_listening()
        for a in agents:
            a.start()
        seen = []
        for k in range(KILLS):
            self._wait_progress(hub, total)
            for a in agents:
                a.kill9()
            seen.append(self._stored_count(hub))
            for a in agents:
                rows = a.list()
                self.assertEqual({r['report_id'] for r in rows},
                                 ids[a.name], '%s lost reports' % a.name)
            hub.assert_alive()
            for a in agents:
                a.start()
        self._mid_batch(seen, total)
        self._finish(hub, agents, ids)

    def test_kill9_submit_midway(self):
        hub = self._new_hub()
        agent = self.new_agent(hub, 'K01')
        fdir = os.path.join(self.tmp, 'files')
        files = [self.report('K01', form='K%04d' % i,
                             cells=many_cells(i, CELLS), dir=fdir)
                 for i in range(PER_AGENT)]
        proc = subprocess.Popen(
            [gomtest.AGENT_BIN, 'submit', '--config', agent.cfg] + files,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, encoding='utf-8')
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        lines = []

        def reader():
            for line in proc.stdout:
                lines.append(line.rstrip('\n'))
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        self.wait_for(lambda: len(lines) >= 50 or proc.poll() is not None,
                      30, 'submit to answer for 50 files')
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait(10)
        t.join(10)
        proc.stdout.close()
        self.assertEqual(rc, -signal.SIGKILL, 'submit finished before the '
                         'kill (%d lines): the test proved nothing'
                         % len(lines))
        answered = gomtest.parse_submit('\n'.join(lines))
        self.assertGreater(len(answered), 0)
        in_outbox = {r['report_id'] for r in agent.list()}
        lost = [f for f, v in answered.items() if v[1] not in in_outbox]
        self.assertEqual(lost, [], 'answered queued, not in the outbox')
        sys.stderr.write('[killed after %d answers; %d in the outbox] '
                         % (len(answered), len(in_outbox)))

        cp = agent.submit(*files)
        self.assertEqual(cp.returncode, 0, cp.stderr[-2000:])
        again = gomtest.parse_submit(cp.stdout)
        self.assertEqual(set(again), set(files))
        for f, v in answered.items():
            self.assertEqual(again[f][:2], ('already queued', v[1]))
        rows = agent.list()
        self.assertEqual(len(rows), PER_AGENT)
        self.assertEqual({r['report_id'] for r in rows},
                         {v[1] for v in again.values()})
        hub.start()
        agent.start()
        self.wait_all_acked(agent, PER_AGENT, timeout=60)
        self.assert_hub_whole(hub, [agent], expect_total=PER_AGENT)
        agent.stop()
        hub.stop()


if __name__ == '__main__':
    gomtest.main()
