"""A flapping line: up 4 s, down 7 s, three times (~33 s), while reports
keep coming.

Profile: Lab.flap(up_s=4, down_s=7, cycles=3): a background thread sets
the WAN's links down and up on that schedule (cable cut: no RST), then
leaves them up. Reports are submitted in waves, one wave at each change of
the line (so some are submitted while it is down and some while it is up).

Proves that 3 agents x 50 reports all reach the hub exactly once (receipts
match, nothing stored twice) despite repeated disconnections and
whole-window resends, that the agents did see the line go (each logs
"disconnected from" at least once) and that everything is acked within
RECOVER_S seconds of the end of the schedule (measured and printed).
Each cut (7 s) is longer than the heartbeat timeout (3 s), so every cut
is seen. drain_s: last heal -> all acked.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402  (puts ../integration on sys.path)
import gomtest  # noqa: E402

AGENTS = 3
PER_AGENT = 50
WAVES = 5                       # waves of PER_AGENT / WAVES reports
UP_S, DOWN_S, CYCLES = 4, 7, 3
RECOVER_S = 60
AGENT_SETTINGS = dict(reconnect_ivl_ms=500, reconnect_ivl_max_ms=5000,
                      heartbeat_ivl_ms=1000, heartbeat_timeout_ms=3000,
                      resend_min_ms=1000, resend_max_ms=10000)


class FlappingTest(netlab.NetFaultCase):
    lab_tag = 'flap'

    def test_flapping_line(self):
        lab = self.lab
        hub = self.new_hub(heartbeat_ivl_ms=1000, heartbeat_timeout_ms=3000)
        hub.start()
        hub.wait_listening()
        agents, files = [], []
        for i in range(AGENTS):
            unit = 'F%02d' % (i + 1)
            agents.append(self.new_agent(hub, unit, name='agent%d' % (i + 1),
                                         **AGENT_SETTINGS))
            files.append(self.narrative_reports(unit, PER_AGENT))
        wire0 = lab.wire_bytes()
        for a in agents:
            a.start()
        for a in agents:
            a.wait_log('hub welcomed us', 20)
        total = AGENTS * PER_AGENT
        per_wave = PER_AGENT // WAVES

        t0 = time.monotonic()
        lab.flap(UP_S, DOWN_S, CYCLES)
        events0 = len(lab.log)
        for w in range(WAVES):
            # Wave 0 goes in at once (line up), wave w right after the w-th
            # change of the line (down, up, down, up).
            self.wait_for(lambda: len(lab.log) - events0 >= w or
                          not lab.flapping(), (UP_S + DOWN_S) * 2,
                          'change %d of the line' % w)
            state = lab.log[-1][1] if len(lab.log) > events0 else 'up'
            for a, fs in zip(agents, files):
                a.submit_ok(*fs[w * per_wave:(w + 1) * per_wave])
            self.say('wave %d submitted (line: %s); acked so far %d/%d',
                     w, state, gomtest.acked_count(agents), total)
        lab.wait_flap_done(CYCLES * (UP_S + DOWN_S) + 30)
        t_end = time.monotonic()
        self.say('flap schedule over after %.1f s (%d cycles); acked %d/%d',
                 t_end - t0, lab.flap_cycles_done,
                 gomtest.acked_count(agents), total)
        self.assertEqual(lab.flap_cycles_done, CYCLES)
        for a in agents:
            self.assertIn('disconnected from', a.log_text(),
                          '%s never noticed the line go' % a.name)
        took = self.wait_all_delivered(agents, total, RECOVER_S,
                                       'all reports acked after flapping')
        self.say('RECOVERY: all %d reports acked %.1f s after the last heal '
                 '(bound %d s)', total, took, RECOVER_S)
        self.assert_daemons_alive(hub, *agents)
        self.assert_hub_whole(hub, agents, total)
        st = hub.status()
        self.say('hub status: reports %s, duplicates %s, nacks %s; '
                 'disconnections per agent %s', st['reports'],
                 st['duplicates'], st['nacks'],
                 [a.log_text().count('disconnected from') for a in agents])
        self.assertEqual(st['nacks'], 0, st)
        self.scenario('flapping', hub, total, took, wire0)


if __name__ == '__main__':
    netlab.main()
