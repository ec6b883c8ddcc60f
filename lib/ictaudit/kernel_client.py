"""The client papermill talks to a notebook's kernel through, with an exact readiness check.

jupyter_client's ``wait_for_ready`` ends by reading IOPub until it has been silent for 0.2 s, to drop
whatever the kernel published before the client connected. That is 0.2 s (often 0.4 s) of waiting at
the start of every notebook, ~1 s of an ``ictaudit run``. :class:`ReadyKernelClient` knows when to
stop instead: it sends ``kernel_info`` and is ready when the kernel's *idle* status for that very
request arrives on IOPub. IOPub is one ordered stream, so everything published before is behind it,
and seeing it proves that IOPub is connected (the check the 0.2 s wait stands for). When the
subscription joined too late to see it, the request is simply sent again.

nbclient filters every IOPub message by the request it answers, so nothing older can leak into a
cell's outputs either way. :func:`ictaudit.notebooks.start_kernel` gives its kernel managers this
client class; the kernel, the messages and the executed notebook are the same.
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

        Raises RuntimeError when the kernel dies first or ``timeout`` seconds pass (no limit when
        None), with the messages jupyter_client uses.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            msg_id = self.kernel_info()
            reply = await self._reply_to(msg_id)
            if reply is not None and await self._idle_after(msg_id):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    async def _reply_to(self, msg_id: str) -> dict | None:
        """The shell reply to request ``msg_id`` (earlier attempts' replies are skipped), or None."""
        until = time.monotonic() + REPLY_SECONDS
        while (left := until - time.monotonic()) > 0:
            try:
                msg = await self.shell_channel.get_msg(timeout=left)
            except (TimeoutError, Empty):
                return None
            if msg.get("parent_header", {}).get("msg_id") == msg_id and msg["msg_type"] == "kernel_info_reply":
                return msg
        return None

    async def _idle_after(self, msg_id: str) -> bool:
        """Read IOPub up to the kernel's idle status for ``msg_id``; False if it does not come in time."""
        until = time.monotonic() + IDLE_SECONDS
        while (left := until - time.monotonic()) > 0:
            try:
                msg = await self.iopub_channel.get_msg(timeout=left)
            except (TimeoutError, Empty):
                return False
            if (
                msg["msg_type"] == "status"
                and msg.get("parent_header", {}).get("msg_id") == msg_id
                and msg["content"].get("execution_state") == "idle"
            ):
                return True
        return False
