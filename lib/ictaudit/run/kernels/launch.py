"""Launching a notebook's kernel ahead of time: already importing, ready sooner, on sockets of its own.

In: the folder the kernel runs in and, optionally, code it runs silently first (the warm-up). Out: a
kernel manager to hand to :func:`ictaudit.run.notebooks.execute` (papermill runs the notebook in it);
:func:`kill_kernel` ends it at once when its notebook is done, :func:`stop_kernel` reaps it later.

Three tricks, each measured in docs/performance.md:
- the kernel is launched without waiting for it, so the caller launches the next notebook's kernel
  while the current notebook runs; the warm-up (:mod:`ictaudit.run.kernels.warmup`) is queued at once;
- papermill's client of the kernel checks readiness exactly (:mod:`ictaudit.run.kernels.client`)
  instead of waiting for 0.2 s of silence on IOPub;
- a finished kernel is killed without waiting for it to exit.
The kernel listens on Unix sockets at a prefix of its own rather than on TCP ports that were free a
moment before (another process can take such a port before the kernel binds it, and the kernel dies).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ictaudit.run.notebooks import KERNEL_ARGUMENTS, kernel_name

#: longest Unix socket path used (the system's limit is 108 bytes on Linux, 104 on macOS)
MAX_SOCKET_PATH = 100

#: the warm-up's client of each kernel, open until the kernel stops: closing it could drop the request
_WARM_CLIENTS: dict = {}


def start_kernel(cwd: Path | None = None, warm_up: str | None = None):
    """Launch a fresh kernel of the project and return its manager without waiting for it to be ready.

    ``warm_up``: code the kernel runs silently as soon as it is up (no output, no history, no execution
    count), queued ahead of the notebook's first cell. Stop the kernel with :func:`stop_kernel`.
    """
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    from ictaudit.run.kernels.client import ReadyKernelClient

    km = AsyncKernelManager(kernel_name=kernel_name(), client_factory=ReadyKernelClient, **_transport())
    run_sync(km.start_kernel)(extra_arguments=list(KERNEL_ARGUMENTS), cwd=str(cwd) if cwd else None)
    if warm_up:
        # a plain blocking client on the shell channel alone: it shares no event loop or zmq context
        # with papermill's client of the same kernel
        from jupyter_client.blocking import BlockingKernelClient

        client = BlockingKernelClient()
        client.load_connection_info(km.get_connection_info())
        client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        client.execute(warm_up, silent=True, store_history=False, allow_stdin=False)
        _WARM_CLIENTS[km] = client
    return km


def _transport() -> dict[str, str]:
    """The kernel's transport: Unix sockets at a prefix no other kernel uses (``<prefix>-<n>``, in the
    temporary folder, removed when it stops), or TCP (``{}``) where ZeroMQ has no Unix sockets or
    the temporary folder's path is too long for one."""
    import tempfile
    import uuid

    import zmq

    prefix = os.path.join(tempfile.gettempdir(), f"ictaudit-kernel-{uuid.uuid4().hex[:12]}")
    if not zmq.has("ipc") or len(f"{prefix}-99".encode()) > MAX_SOCKET_PATH:
        return {}
    return {"transport": "ipc", "ip": prefix}


def kill_kernel(km) -> None:
    """Kill the process group of a kernel whose notebook is done, without waiting for it to exit.

    The next notebook starts at once; :func:`stop_kernel` reaps the process and removes its
    connection file later (a normal shutdown polls every 0.1 s, ~0.12 s a notebook).
    """
    from jupyter_core.utils import run_sync

    if (client := _WARM_CLIENTS.pop(km, None)) is not None:
        client.stop_channels()
    if getattr(km, "provisioner", None) is not None:
        with contextlib.suppress(Exception):  # already gone: stop_kernel still cleans up
            run_sync(km.provisioner.kill)()


def stop_kernel(km) -> None:
    """Shut a kernel from :func:`start_kernel` down (it may already be gone)."""
    from jupyter_core.utils import run_sync

    if (client := _WARM_CLIENTS.pop(km, None)) is not None:
        client.stop_channels()
    with contextlib.suppress(Exception):  # a kernel that died on its own is stopped too
        run_sync(km.shutdown_kernel)(now=True)
