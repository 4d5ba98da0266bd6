"""A long partition: the line is cut for 25 s (GOM_PARTITION_S: the
suite's short profile; `GOM_PARTITION_S=300` for the issue's "several
minutes", run by hand) while reports keep coming.

Profile: both WAN links set down (`ip link set down`: the agents' and the
hub's links lose carrier, nothing answers, no RST) for PARTITION_S seconds,
then up again.

Proves that:
- reports queued before the cut, reports in flight when it comes and
  reports submitted during it are all delivered exactly once after it
  heals (receipts match, nothing stored twice);
- the agents notice the cut (each logs "disconnected from ...") and nothing
  is acknowledged while it lasts (the agents' acked count stands still);
- delivery after the heal completes within RECOVER_S seconds; the time
  measured is printed. Agents use realistic but quick reconnects
  (reconnect_ivl_ms 500, reconnect_ivl_max_ms 5000), so 25 s of cut is
  enough for their reconnect backoff to reach its ceiling.
drain_s: heal -> all acked.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402  (puts ../integration on sys.path)
import gomtest  # noqa: E402

AGENTS = 3
BEFORE, AT_CUT, DURING = 10, 10, 10      # reports per agent in each phase
PARTITION_S = int(os.environ.get('GOM_PARTITION_S', '25'))
RECOVER_S = 60          # heal -> everything acked
AGENT_SETTINGS = dict(reconnect_ivl_ms=500, reconnect_ivl_max_ms=5000,
                      heartbeat_ivl_ms=1000, heartbeat_timeout_ms=3000,
                      resend_min_ms=1000, resend_max_ms=10000)


class PartitionTest(netlab.NetFaultCase):
    lab_tag = 'part'

    def test_long_partition(self):
        lab = self.lab
        hub = self.new_hub(heartbeat_ivl_ms=1000, heartbeat_timeout_ms=3000)
        hub.start()
        hub.wait_listening()
        agents, files = [], []
        per = BEFORE + AT_CUT + DURING
        for i in range(AGENTS):
            unit = 'P%02d' % (i + 1)
            agents.append(self.new_agent(hub, unit, name='agent%d' % (i + 1),
                                         **AGENT_SETTINGS))
            files.append(self.narrative_reports(unit, per))
        wire0 = lab.wire_bytes()
        for a, fs in zip(agents, files):
            a.start()
            a.submit_ok(*fs[:BEFORE])
        self.wait_all_delivered(agents, AGENTS * BEFORE, 30,
                                'reports before the cut acked')
        for a in agents:
            a.wait_log('hub welcomed us', 10)
        logs_before = [a.log_text().count('disconnected from') for a in agents]

        # Submit, and cut the line at once: some of these are in flight.
        for a, fs in zip(agents, files):
            a.submit_ok(*fs[BEFORE:BEFORE + AT_CUT])
        lab.partition()
        t_cut = time.monotonic()
        self.say('partition for %d s', PARTITION_S)

        # Every agent notices (heartbeat timeout 3 s).
        self.wait_for(lambda: all(a.log_text().count('disconnected from') > n
                                  for a, n in zip(agents, logs_before)),
                      15, 'every agent to log "disconnected from"')
        self.say('all agents logged the disconnection %.1f s after the cut',
                 time.monotonic() - t_cut)
        acked_at_cut = gomtest.acked_count(agents)
        contact = [a.status()['last_contact_ms'] for a in agents]
        for a, fs in zip(agents, files):
            a.submit_ok(*fs[BEFORE + AT_CUT:])

        # Hold the partition, watching that nothing gets through.
        def partition_over():
            for d in [hub] + agents:
                d.assert_alive()
            n = gomtest.acked_count(agents)
            self.assertEqual(n, acked_at_cut,
                             'a report was acked through a partition')
            return time.monotonic() - t_cut >= PARTITION_S
        self.wait_for(partition_over, PARTITION_S + 30, 'end of partition')
        self.assertEqual([a.status()['last_contact_ms'] for a in agents],
                         contact, 'an agent had contact during the cut')
        for a in agents:
            st = a.status()
            self.assertGreater(st['queued'] + st['sent'], 0, st)
        self.say('during the cut: acked %d of %d; last_error %r',
                 acked_at_cut, AGENTS * per,
                 [a.status()['last_error'] for a in agents])

        lab.heal()
        t_heal = time.monotonic()
        took = self.wait_all_delivered(agents, AGENTS * per, RECOVER_S,
                                       'all reports acked after the heal')
        self.say('RECOVERY: all %d reports acked %.1f s after the heal '
                 '(bound %d s)', AGENTS * per, took, RECOVER_S)
        reconnects = [self._first_connect_after(a, t_heal) for a in agents]
        self.say('reconnect lines after heal: %s', reconnects)
        self.assert_daemons_alive(hub, *agents)
        self.assert_hub_whole(hub, agents, AGENTS * per)
        st = hub.status()
        self.say('hub status: reports %s, duplicates %s, nacks %s',
                 st['reports'], st['duplicates'], st['nacks'])
        self.assertEqual(st['nacks'], 0, st)
        self.scenario('partition', hub, AGENTS * per, took, wire0)

    def _first_connect_after(self, agent, t_mono):
        """The agent's last 'connected to' log line (for the report)."""
        lines = [l for l in agent.log_text().splitlines()
                 if 'connected to' in l and 'disconnected' not in l]
        return lines[-1][:20] if lines else None


if __name__ == '__main__':
    netlab.main()
