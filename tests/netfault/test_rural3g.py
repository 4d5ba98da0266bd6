"""Rural 3G with its real latency: 300 ms each way, 10% loss, 256 kbit/s.

Profile: the user-space relay (relay.py) on the WAN path delays every
packet 300 ms (+- 30 ms jitter) and drops 10% of them, each way; tc tbf
shapes both directions to 256 kbit/s after the relay.

Proves that 3 agents x 10 reports (a Vietnamese narrative each, ~1.5 KB),
half queued before the agents start and half while they run, all reach
the hub exactly once over such a line (receipts match, nothing stored
twice, no NACK, no rejection), with the agents' production resend floor
(resend_min_ms 2000, above the 600 ms round trip): the line really had
that round trip (a TCP SYN from the agents' namespace took >= 600 ms) and
really lost packets (relay counters). drain_s: agents started -> all acked.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

AGENTS = 3
PER_AGENT = 10
RATE_KBIT = 256
DELAY_MS, JITTER_MS = 300, 30
LOSS = 0.10
DEADLINE = 90
SETTINGS = dict(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000,
                resend_min_ms=2000, resend_max_ms=20000,
                reconnect_ivl_ms=500, reconnect_ivl_max_ms=4000)


class Rural3gTest(netlab.NetFaultCase):
    lab_tag = 'r3g'

    def test_rural_3g_latency(self):
        lab = self.lab
        lab.relay(delay_ms=DELAY_MS, jitter_ms=JITTER_MS, loss=LOSS,
                  direction='both')
        lab.shape(RATE_KBIT, burst=16384)
        rtt = self.tcp_rtt_ms(samples=1)
        self.say('TCP SYN round trip through the relay: %.0f ms', rtt)
        self.assertGreaterEqual(rtt, 2 * (DELAY_MS - JITTER_MS))
        hub = self.new_hub(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000)
        hub.start()
        hub.wait_listening()
        agents, files = [], []
        for i in range(AGENTS):
            unit = 'R%02d' % (i + 1)
            agents.append(self.new_agent(hub, unit, name='agent%d' % (i + 1),
                                         **SETTINGS))
            files.append(self.narrative_reports(unit, PER_AGENT))
        half = PER_AGENT // 2
        for a, fs in zip(agents, files):
            a.submit_ok(*fs[:half])
        total = AGENTS * PER_AGENT
        wire0 = lab.wire_bytes()
        t0 = time.monotonic()
        for a in agents:
            a.start()
        for a, fs in zip(agents, files):
            a.submit_ok(*fs[half:])
        self.wait_all_delivered(agents, total, DEADLINE)
        drain = time.monotonic() - t0
        rs = self.relay_stats()
        for d in ('to_hub', 'to_agents'):
            self.assertGreater(rs[d]['lost'], 0, '%s: the relay lost '
                               'nothing' % d)
            self.assertEqual(rs[d]['overflow'], 0, rs[d])
        self.assert_daemons_alive(hub, *agents)
        self.assert_hub_whole(hub, agents, total)
        sc = self.scenario('rural_3g', hub, agents, total, drain, wire0)
        self.assertEqual(sc['nacks'], 0)
        for a in agents:
            self.assertEqual(a.status()['rejected'], 0)


if __name__ == '__main__':
    netlab.main()
