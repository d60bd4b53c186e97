import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = ["mtat_basic.py", "mtat_se.py", "mtat_rese.py", "mtat_resse.py"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_docstring_gives_command_time_and_number(recipe):
    with open(os.path.join(ROOT, "recipes", recipe), encoding="utf-8") as f:
        doc = f.read().split('"""')[1]
    assert f"python recipes/{recipe} --demo" in doc and "ROC-AUC 0.9" in doc and "minutes" in doc


def test_without_data_it_says_what_to_download(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    script = os.path.join(ROOT, "recipes", "mtat_se.py")
    out = subprocess.run([sys.executable, script, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, env=env, cwd=ROOT)  # fmt: skip
    assert out.returncode != 0
    for expected in ("annotations_final.csv", "mp3.zip.001", "--data data/mtat", "--demo"):
        assert expected in out.stderr, expected
