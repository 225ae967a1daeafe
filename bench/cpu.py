"""CPU time of a server and everything it started, read from /proc."""

import os

_TICKS = os.sysconf("SC_CLK_TCK")


def sessions_cpu_seconds(sessions):
    """Return utime+stime (own and reaped children's) summed over every process in `sessions`.

    Servers start in their own session, so this covers worker processes they fork too.
    """
    sessions = set(sessions)
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:  # the process ended while we looked
            continue
        # Fields after "(comm)", numbered from 3: session is 6, utime..cstime are 14..17.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) in sessions:
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / _TICKS


def host_cpu_seconds():
    """Return (busy, total) CPU seconds summed over every core since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(value) for value in f.readline().split()[1:8]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / _TICKS, sum(ticks) / _TICKS
