"""Runs a command and measures it from /proc, for deploy/bench.

Usage: python3 measure.py OUT_FILE COMMAND [ARGS...]
Writes "CPU_SECONDS PEAK_RSS_KB START END" to OUT_FILE and exits with the command's status:
- CPU: user + system time from /proc/<pid>/stat (fields 14 and 15) read once the command
  has exited but before it is reaped (os.waitid with WNOWAIT keeps the zombie's counters),
  so nothing of the drain is missed;
- peak RSS: VmHWM from /proc/<pid>/status, sampled every 50 ms while it runs;
- START and END: the wall clock (epoch seconds) just before the command is started and as
  soon as it has exited, so that a rate measured with them leaves out this wrapper's own
  start-up and teardown (about 80 and 10 ms of Python here).
"""
import os
import subprocess
import sys
import threading
import time

out, command = sys.argv[1], sys.argv[2:]
started = time.time()
child = subprocess.Popen(command)
peak = 0
running = True


def sample():
    global peak
    while running:
        try:
            with open(f"/proc/{child.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        threading.Event().wait(0.05)


sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
ended = time.time()
running = False
with open(f"/proc/{child.pid}/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
ticks = int(fields[11]) + int(fields[12])
status = child.wait()
with open(out, "w") as f:
    f.write(f"{ticks / os.sysconf('SC_CLK_TCK'):.3f} {peak} {started:.6f} {ended:.6f}\n")
sys.exit(status)
