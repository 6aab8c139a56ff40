"""Worker processes: one pool helper for every parallel job (generation, matches, ladder, rewards).

Why one helper:

* processes start with ``spawn`` (:func:`mp_context`): forking a process that holds engine pipes
  and threads can deadlock, and ``spawn`` works the same on Linux, macOS and in notebooks;
* a parent stopped by SIGTERM or Ctrl-C (SIGINT) takes its workers with it: the pool terminates
  them before the parent exits, and each worker asks Linux to send it SIGTERM should its parent
  die without warning (SIGKILL). A worker's Stockfish processes read end-of-file on their stdin
  when the worker dies, and quit. Nothing is left running after an interrupted job;
* one torch/OpenMP thread per worker: on a few cores, processes are the parallelism;
* one place for per-process state (:func:`worker_state`) instead of a global per module;
* one rule for how many workers a machine holds (:func:`sized_workers`): each worker costs the
  memory of its engines (~136 MB per Stockfish process at the default 16 MB hash) and of itself,
  so a default of one worker per core can exhaust the memory of a many-core machine (a generation
  worker holds 4 engines, ~0.6 GB: 64 cores would need ~35 GB). Defaults are the smaller of the
  usable cores and what the available memory holds.
"""
from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_STATE: dict[str, dict[str, Any]] = {}

WORKER_PROCESS_MB = 50  # a spawn worker without torch: ~42 MB resident measured (Python, chess)

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def worker_state(name: str) -> dict[str, Any]:
    """This process's state for the job ``name`` (its players, engines, settings), set by the
    pool's initializer and read by the task function. One dict per job name, so that a job run
    inside another job's worker (a ladder worker playing a match) does not clobber it."""
    return _STATE.setdefault(name, {})


def usable_cpus() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's or ``taskset``'s
    share), else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_memory_mb() -> int | None:
    """Memory available to new processes, in MB: ``MemAvailable`` of ``/proc/meminfo`` (free plus
    reclaimable cache), lowered to the room left under a cgroup v2 limit (containers), else
    ``os.sysconf`` free pages; None where none of these can be read."""
    found: list[int] = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) // 1024)
                    break
    except (OSError, ValueError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20)
        except (AttributeError, OSError, ValueError):
            pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            found.append(max(0, int(limit) - used) // 2**20)
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def sized_workers(per_worker_mb: float, cpus: int | None = None,
                  available_mb: int | None = None, reserve_mb: int = 512) -> int:
    """How many workers of ``per_worker_mb`` each this machine holds: the smaller of ``cpus``
    (default :func:`usable_cpus`) and ``(available_mb - reserve_mb) // per_worker_mb`` (default
    :func:`available_memory_mb`; ``reserve_mb`` stays free for the parent process), at least 1.
    Memory that cannot be read does not limit the count."""
    if per_worker_mb <= 0:
        raise ValueError(f"per_worker_mb must be > 0, got {per_worker_mb}")
    cpus = usable_cpus() if cpus is None else cpus
    available_mb = available_memory_mb() if available_mb is None else available_mb
    n = max(1, int(cpus))
    if available_mb is not None:
        n = min(n, int(max(0, available_mb - reserve_mb) // per_worker_mb))
    return max(1, n)


def mp_context():
    """The ``spawn`` context. ``spawn`` re-imports the main program, so it cannot work when that
    is not a file (``python - <<EOF``): say so instead of failing obscurely."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.exists(main_file):
        raise RuntimeError(f"parallel workers cannot start from a main program that is not a file "
                           f"({main_file!r}); save the code to a .py file or use workers=1")
    return mp.get_context("spawn")


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple, torch: bool) -> None:
    _die_with_parent()
    os.environ["OMP_NUM_THREADS"] = "1"  # one process per core
    if torch:
        # Imported here, only in workers that play models: the others never load torch.
        import torch as _torch

        _torch.set_num_threads(1)
    if initializer is not None:
        initializer(*initargs)
    if "torch" in sys.modules:  # a player built by the initializer loaded torch
        sys.modules["torch"].set_num_threads(1)


def _terminate(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.join(timeout=5)
    pool.shutdown(wait=False, cancel_futures=True)


class _Stopped(KeyboardInterrupt):
    """Raised in the parent when it receives SIGTERM while a pool runs."""


@contextmanager
def worker_pool(workers: int, initializer: Callable[..., None] | None = None,
                initargs: tuple = (), torch: bool = False) -> Iterator[ProcessPoolExecutor]:
    """A ``spawn`` process pool whose workers never outlive the job.

    On normal exit the workers finish and exit (their engines close cleanly); on an exception,
    Ctrl-C or SIGTERM they are terminated at once. ``torch``: import torch in each worker (one
    thread) before ``initializer`` runs. SIGTERM raises KeyboardInterrupt in the parent (when the
    pool is used from the main thread), so ``finally`` blocks run and the parent's files stay
    consistent; the previous handlers are restored afterwards.
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp_context(),
                               initializer=_start_worker, initargs=(initializer, initargs, torch))
    previous: dict[int, Any] = {}

    def on_term(signum, frame):
        raise _Stopped(f"stopped by signal {signum}")

    if threading.current_thread() is threading.main_thread():
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, on_term)
    try:
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def completed(futures: Iterable[Future]) -> Iterator[Any]:
    """The futures' results as they complete (any order)."""
    for fut in as_completed(list(futures)):
        yield fut.result()
