import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dcgan_lib.train import list_checkpoints, load_checkpoint, read_jsonl

WORKER = Path(__file__).with_name("ddp_worker.py")


def torchrun(out, steps, mode, labels=""):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node=2", str(WORKER), str(out), str(steps), mode, labels],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / "ddp_result.json").read_text())


@pytest.mark.skipif(sys.platform == "win32", reason="gloo process group on Linux/macOS")
@pytest.mark.parametrize("labels", ["", "labels"])
def test_two_processes_stay_in_sync_and_resume(tmp_path, labels):
    res = torchrun(tmp_path, 3, "fresh", labels)
    assert res["world"] == 2 and res["step"] == 3 and res["in_sync"]
    assert res["distinct_batches"], "each rank must read its own share of the data"
    assert res["steps_per_epoch"] == 64 // (8 * 2)
    assert [p.name for p in list_checkpoints(tmp_path)][-1] == "ckpt-00000003.pt"
    assert load_checkpoint(tmp_path / "ckpt-00000003.pt")["step"] == 3
    res = torchrun(tmp_path, 6, "resume", labels)
    assert res["start"] == 3 and res["step"] == 6 and res["in_sync"]
    assert [r["step"] for r in read_jsonl(tmp_path / "log.jsonl")] == [1, 2, 3, 4, 5, 6]
    assert load_checkpoint(tmp_path / "ckpt-00000006.pt")["config"]["labels"] == bool(labels)
