"""The readiness check of the kernels ``ictaudit run`` starts (:mod:`ictaudit.run.kernels.client`): ready when
the kernel answers and IOPub is connected, a dead kernel reported, a notebook's record clean."""

import asyncio

import pytest

from ictaudit.run.kernels.client import ReadyKernelClient
from ictaudit.run.kernels.launch import kill_kernel, start_kernel, stop_kernel
from ictaudit.run.notebooks import kernel_name


def _ready(km, timeout: float, then: str | None = None) -> list[str]:
    """Wait for ``km``'s kernel with a fresh client; then run ``then`` and return what it printed."""

    async def go():
        kc = km.client()
        assert isinstance(kc, ReadyKernelClient)
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=timeout)
            if then is None:
                return []
            msg_id, texts = kc.execute(then), []
            while True:  # nothing waited for IOPub: it must be connected already
                msg = await kc.iopub_channel.get_msg(timeout=30)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    texts.append(msg["content"]["text"])
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return texts
        finally:
            kc.stop_channels()

    return asyncio.run(go())


def test_ready_means_the_kernel_answers_and_iopub_is_connected(tmp_path):
    km = start_kernel(tmp_path, warm_up="import time\nprint('warm-up noise')\ntime.sleep(0.5)")
    try:
        assert _ready(km, timeout=60, then="print('hello')") == ["hello\n"]
    finally:
        stop_kernel(km)


def test_a_dead_kernel_is_reported_not_waited_for(tmp_path):
    km = start_kernel(tmp_path)
    kill_kernel(km)
    try:
        with pytest.raises(RuntimeError, match=r"died|respond"):
            _ready(km, timeout=10)
    finally:
        stop_kernel(km)


def test_the_record_holds_only_the_notebooks_own_outputs(tmp_path):
    """What the warm-up printed while papermill's client connected is not in any cell's outputs."""
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print('from the cell')"), nbformat.v4.new_code_cell("1 + 1")]
    nb.metadata["kernelspec"] = {"name": kernel_name(), "language": "python", "display_name": "ictaudit"}
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, str(src))
    km = start_kernel(tmp_path, warm_up="import time\nprint('warm-up noise')\ntime.sleep(1.0)\nprint('more noise')")
    try:
        papermill.execute_notebook(str(src), str(out), kernel_name=kernel_name(), km=km, progress_bar=False)
    finally:
        stop_kernel(km)
    cells = nbformat.read(str(out), as_version=4).cells
    assert [o.get("text") for o in cells[0]["outputs"]] == ["from the cell\n"]
    assert [o.data["text/plain"] for o in cells[1]["outputs"]] == ["2"]


def test_kernels_listen_on_their_own_unix_sockets_and_remove_them(tmp_path):
    """No TCP port that another process could take between choosing it and the kernel binding it."""
    import glob

    km = start_kernel(tmp_path)
    try:
        info = km.get_connection_info()
        assert info["transport"] == "ipc"
        assert _ready(km, timeout=60, then="print(6 * 7)") == ["42\n"]
        assert len(glob.glob(f"{info['ip']}-*")) == 5  # shell, iopub, stdin, control, heartbeat
        other = start_kernel(tmp_path)
        assert other.get_connection_info()["ip"] != info["ip"]
        stop_kernel(other)
    finally:
        stop_kernel(km)
    assert glob.glob(f"{info['ip']}-*") == []


def test_a_temporary_folder_too_deep_for_a_socket_path_falls_back_to_tcp(tmp_path, monkeypatch):
    import tempfile

    from ictaudit.run.kernels import launch

    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    assert launch._transport() == {}
    km = start_kernel(tmp_path)
    try:
        assert km.get_connection_info()["transport"] == "tcp"
        assert _ready(km, timeout=60, then="print('tcp')") == ["tcp\n"]
    finally:
        stop_kernel(km)


class _Channel:
    """A channel that hands out scripted messages, one batch per poll round; Empty when a batch is done."""

    def __init__(self, batches):
        self.batches = [list(b) for b in batches]

    async def get_msg(self, timeout=None):
        from queue import Empty

        while self.batches and not self.batches[0]:
            self.batches.pop(0)
            raise Empty
        if not self.batches:
            raise Empty
        return self.batches[0].pop(0)


def _scripted_client(shell, iopub, alive=True):
    class Scripted(ReadyKernelClient):
        def kernel_info(self):
            self.sent.append(f"k{len(self.sent) + 1}")
            return self.sent[-1]

        def _handle_kernel_info_reply(self, msg):
            self.handled.append(msg["parent_header"]["msg_id"])

        async def _async_is_alive(self):
            return alive

    kc = Scripted()
    kc.sent, kc.handled = [], []
    kc._shell_channel, kc._iopub_channel = _Channel(shell), _Channel(iopub)
    return kc


def _reply(msg_id):
    return {"msg_type": "kernel_info_reply", "parent_header": {"msg_id": msg_id}, "content": {}}


def _status(msg_id, state):
    return {"msg_type": "status", "parent_header": {"msg_id": msg_id}, "content": {"execution_state": state}}


def test_an_idle_status_that_comes_late_still_counts():
    """The first request's idle arrives only while the second attempt waits: ready, no third attempt."""
    noise = {"msg_type": "stream", "parent_header": {"msg_id": "warm-up"}, "content": {"text": "x"}}
    kc = _scripted_client(shell=[[_reply("k1")], [_reply("k2")]], iopub=[[], [noise, _status("k1", "busy"), _status("k1", "idle")]])
    asyncio.run(kc.wait_for_ready(timeout=5))
    assert kc.sent == ["k1", "k2"] and kc.handled


def test_not_ready_on_someone_elses_idle_and_a_dead_kernel_stops_the_wait():
    kc = _scripted_client(shell=[[_reply("k1")]], iopub=[[_status("warm-up", "idle")]], alive=False)
    with pytest.raises(RuntimeError, match="died"):
        asyncio.run(kc.wait_for_ready(timeout=5))
    assert kc.handled == []


# -- the fence: jupyter_client's private names, pinned and checked -------------------------------------


def _pinned_version(package: str) -> str:
    import tomllib

    from ictaudit.common.paths import PROJECT_ROOT

    deps = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = [d.split("==", 1)[1] for d in deps if d.split("==", 1)[0].strip().lower().replace("-", "_") == package]
    assert pins, f"pyproject.toml must pin {package} exactly (==): run/kernels/client.py uses its private methods"
    return pins[0]


def test_jupyter_client_is_the_exact_version_the_client_was_checked_against():
    from importlib import metadata

    from ictaudit.common.paths import PROJECT_ROOT

    pinned = _pinned_version("jupyter_client")
    installed = metadata.version("jupyter_client")
    assert installed == pinned, (
        f"jupyter_client {installed} is installed, the fenced client was checked against {pinned}: read "
        "run/kernels/client.py against the new jupyter_client's KernelClient._async_wait_for_ready, then move the pin"
    )
    assert f"jupyter_client=={pinned}" in (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()


def test_the_private_methods_the_client_calls_exist_with_the_signatures_it_calls_them_with():
    import ast
    import inspect

    from jupyter_client.asynchronous import AsyncKernelClient

    from ictaudit.run.kernels import client

    tree = ast.parse(inspect.getsource(client))
    own = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr.startswith("_") and n.attr not in own}
    assert used == {"_handle_kernel_info_reply", "_async_is_alive"}, f"private names now used: {sorted(used)}; check each here"

    handle = AsyncKernelClient._handle_kernel_info_reply
    assert list(inspect.signature(handle).parameters) == ["self", "msg"] and not inspect.iscoroutinefunction(handle)
    alive = AsyncKernelClient._async_is_alive
    assert list(inspect.signature(alive).parameters) == ["self"] and inspect.iscoroutinefunction(alive)
    replaced = AsyncKernelClient.wait_for_ready  # what nbclient awaits; the client overrides it
    assert list(inspect.signature(replaced).parameters) == ["self", "timeout"] and inspect.iscoroutinefunction(replaced)
