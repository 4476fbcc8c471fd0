"""Runs a command and measures it from /proc, for deploy/bench.

Usage: python3 measure.py OUT_FILE COMMAND [ARGS...]
Writes "CPU_SECONDS PEAK_RSS_KB" to OUT_FILE and exits with the command's status:
- CPU: user + system time from /proc/<pid>/stat (fields 14 and 15) read once the command
  has exited but before it is reaped (os.waitid with WNOWAIT keeps the zombie's counters),
  so nothing of the drain is missed;
- peak RSS: VmHWM from /proc/<pid>/status, sampled every 50 ms while it runs.
"""
import os
import subprocess
import sys
import threading

out, command = sys.argv[1], sys.argv[2:]
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
running = False
with open(f"/proc/{child.pid}/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
ticks = int(fields[11]) + int(fields[12])
status = child.wait()
with open(out, "w") as f:
    f.write(f"{ticks / os.sysconf('SC_CLK_TCK'):.3f} {peak}\n")
sys.exit(status)
