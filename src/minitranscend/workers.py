"""Worker processes: one pool helper for every parallel job (generation, matches, ladder, rewards).

Why one helper:

* processes start with ``spawn`` (:func:`mp_context`): forking a process that holds engine pipes
  and threads can deadlock, and ``spawn`` works the same on Linux, macOS and in notebooks;
* a parent stopped by SIGTERM or Ctrl-C (SIGINT) takes its workers with it: the pool terminates
  them before the parent exits, and each worker asks Linux to send it SIGTERM should its parent
  die without warning (SIGKILL). A worker's Stockfish processes read end-of-file on their stdin
  when the worker dies, and quit. Nothing is left running after an interrupted job;
* one torch/OpenMP thread per worker: on a few cores, processes are the parallelism;
* one place for per-process state (:func:`worker_state`) instead of a global per module.
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
from typing import Any

_STATE: dict[str, dict[str, Any]] = {}

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def worker_state(name: str) -> dict[str, Any]:
    """This process's state for the job ``name`` (its players, engines, settings), set by the
    pool's initializer and read by the task function. One dict per job name, so that a job run
    inside another job's worker (a ladder worker playing a match) does not clobber it."""
    return _STATE.setdefault(name, {})


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
