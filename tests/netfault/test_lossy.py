"""Rural 3G: a slow, lossy line both ways, for the whole test.

Profile: tc tbf 256 kbit/s each way, and 10% of packets dropped at random
each way (iptables statistic in the WAN namespace).

Proves that 3 agents x 30 reports, each with a Vietnamese narrative (about
1.5 KB), all reach the hub exactly once over such a line: every report is
acked on its agent with the receipt the hub stored, no report_id, natural
key or receipt is stored twice, and the line really lost packets (the
WAN's drop counter is not zero). Half the reports are queued before the
agents start, half while they run. drain_s: agents started -> all acked.
(test_rural3g.py adds the 300 ms each way this test does not have.)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

AGENTS = 3
PER_AGENT = 30
RATE_KBIT = 256
LOSS = 0.10
DEADLINE = 150          # seconds for everything to be acked


class LossyTest(netlab.NetFaultCase):
    lab_tag = 'lossy'

    def test_rural_3g(self):
        lab = self.lab
        lab.shape(RATE_KBIT, burst=16384)
        lab.loss(LOSS, 'both')
        _, _, drain = self.deliver_half_and_half(
            'lossy', 'L', AGENTS, PER_AGENT, DEADLINE, heartbeat_ivl_ms=2000,
            heartbeat_timeout_ms=10000)
        drops = lab.drops()
        self.say('all %d reports acked %.1f s after the agents started; '
                 'WAN drops: %s', AGENTS * PER_AGENT, drain, drops)
        self.assertGreater(drops['GOMNF_LOSS'], 0, 'the line lost nothing')

if __name__ == '__main__':
    netlab.main()
