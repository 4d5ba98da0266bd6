"""Satellite: 700 ms each way, 1% loss, no rate limit.

Profile: the user-space relay (relay.py) on the WAN path delays every
packet 700 ms (+- 20 ms jitter) and drops 1% of them, each way.

Proves that over a 1.4 s round trip (longer than the agents' first resend
timeout would be with a low floor) 3 agents x 12 reports all reach the
hub exactly once (receipts match, nothing stored twice, no NACK, no
rejection) with the production resend floor (resend_min_ms 2000) and
heartbeats that tolerate the delay (2000/10000 ms); that the line had the
round trip (TCP SYN >= 1.3 s); that the relay dropped nothing for want of
room (its queue bound).
The hub's duplicates counter (printed) shows how many resends the delay
caused. drain_s: agents started -> all acked (the first CURVE handshake
alone takes several round trips).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402

AGENTS = 3
PER_AGENT = 12
DELAY_MS, JITTER_MS = 700, 20
LOSS = 0.01
DEADLINE = 90
SETTINGS = dict(heartbeat_ivl_ms=2000, heartbeat_timeout_ms=10000,
                resend_min_ms=2000, resend_max_ms=20000,
                reconnect_ivl_ms=500, reconnect_ivl_max_ms=4000)


class SatelliteTest(netlab.NetFaultCase):
    lab_tag = 'sat'

    def test_satellite(self):
        lab = self.lab
        lab.relay(delay_ms=DELAY_MS, jitter_ms=JITTER_MS, loss=LOSS,
                  direction='both')
        rtt = self.tcp_rtt_ms(samples=1)
        self.say('TCP SYN round trip through the relay: %.0f ms', rtt)
        self.assertGreaterEqual(rtt, 2 * (DELAY_MS - JITTER_MS))
        self.deliver_half_and_half(
            'satellite', 'S', AGENTS, PER_AGENT, DEADLINE, **SETTINGS)
        rs = self.relay_stats()
        for d in ('to_hub', 'to_agents'):
            self.assertEqual(rs[d]['overflow'], 0, rs[d])


if __name__ == '__main__':
    netlab.main()
