"""The training's helper process: tasks run beside the caller and come back exactly as if run
inline; whatever goes wrong with the helper, the caller still gets the task's true outcome."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from trainlock.sidecar import Sidecar, sidecar

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the helper is forked on Linux only")


def _run_script(body: str) -> str:
    """Run ``body`` in a fresh interpreter: under pytest-xdist threads run here, so this process never forks."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # whatever fails in the helper, it never writes to the user's terminal
    return done.stdout


def test_tasks_run_in_the_helper_and_fall_back_to_the_caller():
    out = _run_script("""
        import os, signal
        from trainlock.sidecar import sidecar

        def call(func):
            return func()

        def call_with(func, ballast):
            return func()

        with sidecar() as helper:
            assert helper.forked
            first = helper.start(os.getpid)
            second = helper.start(os.getpid)  # waits for the first reply: one request at a time
            assert first.result() != os.getpid()
            assert second.result() == first.result()
            # an argument pickle refuses runs in the caller
            assert helper.start(call, lambda: os.getpid()).result() == os.getpid()
        with sidecar(max_request_bytes=1000) as helper:
            # so does one too large to send (a huge model): the helper would hold it twice over
            assert helper.start(call_with, os.getpid, b"x" * 2000).result() == os.getpid()
            assert helper.start(call_with, os.getpid, b"x" * 10).result() != os.getpid()
        with sidecar() as helper:
            first = helper.start(os.getpid)
            # a task that fails in the helper fails in the caller, with the caller's own error
            try:
                helper.start(int, "not a number").result()
            except ValueError as exc:
                assert "not a number" in str(exc)
            else:
                raise AssertionError("the failure was lost")
            assert helper.forked  # a failed task does not end the helper
            helper_pid = first.result()
            os.kill(helper_pid, signal.SIGKILL)
            assert helper.start(os.getpid).result() == os.getpid()  # the helper died: inline from now on
            assert not helper.forked
        print("ok")
    """)
    assert out.strip() == "ok"


def test_a_task_whose_class_the_helper_cannot_import_runs_in_the_caller(tmp_path):
    (tmp_path / "late_module.py").write_text(
        "import os\n\nclass Late:\n    def pid(self):\n        return os.getpid()\n"
    )
    out = _run_script(f"""
        import os, sys
        from trainlock.sidecar import sidecar

        with sidecar() as helper:
            sys.path.insert(0, {str(tmp_path)!r})  # after the fork: the helper cannot import late_module
            import late_module
            assert helper.start(late_module.Late.pid, late_module.Late()).result() == os.getpid()
            assert helper.forked  # the helper is still there for the next task
            assert helper.start(os.getpid).result() != os.getpid()
        print("ok")
    """)
    assert out.strip() == "ok"


def test_a_model_written_by_the_helper_has_the_inline_bytes(tmp_path):
    out = _run_script(f"""
        from pathlib import Path
        import numpy as np
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import RandomForestClassifier
        from trainlock.model_io import dump_model
        from trainlock.sidecar import sidecar

        rng = np.random.default_rng(0)
        X = rng.normal(size=(300, 4))
        y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
        model = CalibratedClassifierCV(RandomForestClassifier(n_estimators=5, random_state=0), cv=3).fit(X, y)
        inline, beside = Path({str(tmp_path)!r}) / "inline.skops", Path({str(tmp_path)!r}) / "beside.skops"
        inline_types = dump_model(model, inline)
        with sidecar() as helper:
            assert helper.forked
            beside_types = helper.start(dump_model, model, beside).result()
        assert beside_types == inline_types
        assert beside.read_bytes() == inline.read_bytes()
        print("ok")
    """)
    assert out.strip() == "ok"


def test_with_other_threads_running_tasks_run_inline_when_asked_for():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()  # forking now could copy a lock that thread holds: the helper must not be forked
    try:
        calls: list[str] = []
        with sidecar() as helper:
            assert not helper.forked
            pending = helper.start(calls.append, "ran")
            assert calls == []  # deferred until its result is asked for
            pending.result()
            assert calls == ["ran"]
    finally:
        stop.set()
        other.join()
    assert Sidecar.inline().start(sum, [1, 2, 3]).result() == 6
