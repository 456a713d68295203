"""How many CPU cores this process may run on (its affinity, which a scheduler's cgroup or
``taskset`` may set below the machine's count)."""

import os


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity API on this platform
        return os.cpu_count() or 1
