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
        self.deliver_half_and_half('rural_3g', 'R', AGENTS, PER_AGENT,
                                   DEADLINE, **SETTINGS)
        rs = self.relay_stats()
        for d in ('to_hub', 'to_agents'):
            self.assertGreater(rs[d]['lost'], 0, '%s: the relay lost '
                               'nothing' % d)
            self.assertEqual(rs[d]['overflow'], 0, rs[d])

if __name__ == '__main__':
    netlab.main()
