"""A black hole in the middle of a batch.

Profile: the line is slowed to 256 kbit/s so a batch takes a while; when
part of it is acknowledged, every packet between hub and agents is dropped
silently (iptables DROP both ways in the WAN namespace: the links stay up,
no RST, no ICMP) for BLACKHOLE_S seconds, then let through again.

Proves that:
- the agents' ZMTP heartbeats (heartbeat_ivl_ms 1000, heartbeat_timeout_ms
  3000) find the dead connection although TCP says nothing: every agent
  logs "disconnected from ..." within DETECT_S seconds of the black hole
  (the hub's heartbeats, 2000/6000, drop its side too). Each agent has a
  full window (64) of large reports (600 cells and a narrative, ~7 KB) in
  flight, so when the hole opens its TCP send buffer is full: the case
  where a heartbeat PING has to queue behind the reports. An agent that misses the
  deadline fails the test, but only at the end, after the heal, so one run
  also shows whether and how fast delivery resumed;
- nothing is acknowledged while the hole lasts, the WAN really dropped
  packets, and after the heal (the shaping is lifted too) delivery resumes
  and completes within RECOVER_S seconds (measured and printed);
- every report is stored exactly once with matching receipts.
drain_s: heal -> all acked.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402  (puts ../integration on sys.path)
import gomtest  # noqa: E402

AGENTS = 3
PER_AGENT = 64          # the agent's default window: all in flight at once
N_CELLS = 600           # ~7 KB a report: 450 KB per agent, more than a
                        # TCP send buffer holds
RATE_KBIT = 256
BLACKHOLE_S = 30
DETECT_S = 10           # cut -> every agent logged the disconnection
RECOVER_S = 75          # heal -> everything acked
AGENT_SETTINGS = dict(heartbeat_ivl_ms=1000, heartbeat_timeout_ms=3000,
                      tcp_maxrt_ms=5000,
                      reconnect_ivl_ms=500, reconnect_ivl_max_ms=5000,
                      resend_min_ms=1000, resend_max_ms=10000)


class BlackholeTest(netlab.NetFaultCase):
    lab_tag = 'bhole'

    def test_blackhole_mid_batch(self):
        lab = self.lab
        lab.shape(RATE_KBIT, burst=16384, latency_ms=1000)
        hub = self.new_hub(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=6000,
                           tcp_maxrt_ms=8000)
        hub.start()
        hub.wait_listening()
        agents, files = [], []
        for i in range(AGENTS):
            unit = 'B%02d' % (i + 1)
            agents.append(self.new_agent(hub, unit, name='agent%d' % (i + 1),
                                         **AGENT_SETTINGS))
            files.append(self.narrative_reports(unit, PER_AGENT,
                                                n_cells=N_CELLS))
        wire0 = lab.wire_bytes()
        for a in agents:
            a.start()
        for a in agents:
            a.wait_log('hub welcomed us', 20)
        total = AGENTS * PER_AGENT
        for a, fs in zip(agents, files):
            a.submit_ok(*fs)

        # Mid-batch: some acknowledged, most not.
        self.wait_for(lambda: gomtest.acked_count(agents) >= total // 10,
                      60, 'a tenth of the batch acked')
        lab.blackhole()
        t_cut = time.monotonic()
        # An agent may be between connections right now (a slow line can
        # make a heartbeat time out); only one that is connected has a dead
        # connection to find. Its log's last connection line tells.
        cut_offset = {a.name: len(a.log_text()) for a in agents}
        was_up = {a.name: self._connected(a.log_text()) for a in agents}
        acked_at_cut = gomtest.acked_count(agents)
        self.say('black hole at %d/%d acked', acked_at_cut, total)
        self.assertLess(acked_at_cut, total - AGENTS,
                        'the batch was over before the black hole: the '
                        'test proves nothing (slow the line down)')

        # Watch the hole: when each agent notices, and that nothing gets
        # through (an ack already past the WAN when it closed may land in
        # the first second: the count is taken after that).
        detected = {}
        acked_in_hole = [None]

        def hole_over():
            now = time.monotonic() - t_cut
            for d in [hub] + agents:
                d.assert_alive()
            for a in agents:
                after = a.log_text()[cut_offset[a.name]:]
                if a.name not in detected and (
                        'disconnected from' in after or
                        (not was_up[a.name] and
                         'connected to' not in after)):
                    detected[a.name] = now
                    self.say('%s %s %.1f s after the black hole', a.name,
                             'logged "disconnected from"' if was_up[a.name]
                             else 'was already disconnected', now)
            n = gomtest.acked_count(agents)
            if acked_in_hole[0] is None and now >= 1.0:
                acked_in_hole[0] = n
            if acked_in_hole[0] is not None:
                self.assertEqual(n, acked_in_hole[0],
                                 'a report was acked through the black hole')
            return now >= BLACKHOLE_S
        self.wait_for(hole_over, BLACKHOLE_S + 30, 'end of the black hole')
        missed = [a for a in agents
                  if detected.get(a.name, BLACKHOLE_S + 1) > DETECT_S]
        stuck = {}
        for a in missed:
            cp = lab.ns(lab.agents_ns, 'ss', '-tn', 'state', 'established',
                        'dst', netlab.HUB_ADDR, check=False)
            stuck[a.name] = cp.stdout.strip()
        if missed:
            self.say('NOT DETECTED within %d s: %s; established TCP '
                     'connections in the agents\' namespace (Send-Q = bytes '
                     'stuck):\n%s', DETECT_S, [a.name for a in missed],
                     list(stuck.values())[0])
        drops = lab.drops()
        self.assertGreater(drops['GOMNF_CUT'], 0, drops)
        self.say('black hole dropped %d packets', drops['GOMNF_CUT'])

        lab.heal()
        lab.clear()             # the line is back, at full speed
        took = self.wait_all_delivered(agents, total, RECOVER_S,
                                       'all reports acked after the heal')
        self.say('RECOVERY: all %d reports acked %.1f s after the heal '
                 '(bound %d s)', total, took, RECOVER_S)
        self.assert_daemons_alive(hub, *agents)
        self.assert_hub_whole(hub, agents, total)
        st = hub.status()
        self.say('hub status: reports %s, duplicates %s, nacks %s',
                 st['reports'], st['duplicates'], st['nacks'])
        self.scenario('blackhole', hub, total, took, wire0)
        if missed:
            self.fail('heartbeats did not detect the black hole within %d s '
                      'on %s (delivery after the heal was fine). The '
                      'connection stayed ESTABLISHED with a full send '
                      'buffer:\n%s' % (DETECT_S, [a.name for a in missed],
                                       list(stuck.values())[0]))

    @staticmethod
    def _connected(log):
        """True if the last connection event in an agent's log is
        "connected to" (not "disconnected from")."""
        return log.rfind(' connected to ') > log.rfind(' disconnected from ')


if __name__ == '__main__':
    netlab.main()
