"""The client papermill talks to a notebook's kernel through, with an exact readiness check.

jupyter_client's ``wait_for_ready`` ends by reading IOPub until it has been silent for 0.2 s, to drop
whatever the kernel published before the client connected. That is 0.2 s (often 0.4 s) of waiting at
the start of every notebook, ~1 s of an ``ictaudit run``. :class:`ReadyKernelClient` knows when to
stop instead: it sends ``kernel_info`` and is ready when the kernel's *idle* status for that very
request arrives on IOPub. IOPub is one ordered stream, so everything published before is behind it,
and seeing it proves that IOPub is connected (the check the 0.2 s wait stands for). When the
subscription joined too late to see it, the request is simply sent again.

nbclient filters every IOPub message by the request it answers, so nothing older can leak into a
cell's outputs either way. :func:`ictaudit.run.kernels.launch.start_kernel` gives its kernel managers
this client class; the kernel, the messages and the executed notebook are the same.

It calls two of jupyter_client's private methods (``_handle_kernel_info_reply``, ``_async_is_alive``),
as the method it replaces does: jupyter_client is pinned exactly in pyproject.toml, and
tests/test_kernel_client.py fails when the installed version or those methods change.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient

#: how long one attempt waits for the reply (the kernel answers once its warm-up is done) before asking again
REPLY_SECONDS = 1.0
#: how long it then waits for the idle status, which follows the reply within milliseconds unless the
#: IOPub subscription joined too late to see it (then asking again is what helps)
IDLE_SECONDS = 0.1


class ReadyKernelClient(AsyncKernelClient):
    async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
        """Return once the kernel has answered ``kernel_info`` and its IOPub stream has caught up.

        Any of this client's ``kernel_info`` requests will do: an idle status that arrives late, during
        the next attempt, still proves IOPub connected and flushed. Raises RuntimeError when the kernel
        dies first or ``timeout`` seconds pass (no limit when None), with jupyter_client's messages.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        asked: set[str] = set()
        reply = None
        while True:
            asked.add(self.kernel_info())
            reply = await self._reply_to(asked) or reply
            if reply is not None and await self._idle_after(asked):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _reply_to(self, asked: set[str]) -> dict | None:
        """A shell reply to one of the requests ``asked``, or None after :data:`REPLY_SECONDS`."""
        return await _first(
            self.shell_channel, REPLY_SECONDS,
            lambda m: m["msg_type"] == "kernel_info_reply" and _parent(m) in asked,
        )  # fmt: skip

    async def _idle_after(self, asked: set[str]) -> bool:
        """Read IOPub up to the kernel's idle status for one of the requests ``asked``; False if none
        comes within :data:`IDLE_SECONDS`."""
        idle = await _first(
            self.iopub_channel, IDLE_SECONDS,
            lambda m: m["msg_type"] == "status" and _parent(m) in asked and m["content"].get("execution_state") == "idle",
        )  # fmt: skip
        return idle is not None


def _parent(msg: dict) -> str | None:
    return msg.get("parent_header", {}).get("msg_id")


async def _first(channel, seconds: float, wanted) -> dict | None:
    """The first message from ``channel`` for which ``wanted`` holds (others are dropped), or None when
    none comes within ``seconds``; polls at least once, even when the coroutine resumed late."""
    until = time.monotonic() + seconds
    while True:
        try:
            msg = await channel.get_msg(timeout=max(until - time.monotonic(), 0))
        except (TimeoutError, Empty):
            return None
        if wanted(msg):
            return msg
