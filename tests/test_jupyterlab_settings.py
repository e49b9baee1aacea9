"""JupyterLab opens the book's .py chapters as notebooks, with the setting the project ships.

ci/jupyterlab/default_setting_overrides.json is merged by ci/setup.sh into this environment's
LabConfig directory ({sys.prefix}/etc/jupyter/labconfig/). These tests read the effective
setting the way JupyterLab's server does (jupyterlab_server.settings_utils, with the paths of
jupyterlab's own LabApp), with the user's home config kept out of it, and check that the
viewer it names is the document factory that the installed jupytext labextension registers.
"""

import json
import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "ci" / "jupyterlab" / "default_setting_overrides.json"
PLUGIN = "@jupyterlab/docmanager-extension:plugin"
SETUP_HINT = "run 'bash ci/setup.sh' (it installs the JupyterLab setting into .venv)"


@pytest.fixture
def lab_paths(tmp_path, monkeypatch):
    """LabApp's directories for this environment, with an empty user config dir and settings.

    A user's own ~/.jupyter (labconfig or settings saved from the settings editor) may rightly
    change the viewer on their machine; the test checks what the project ships.
    """
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))
    for var in ("JUPYTER_CONFIG_PATH", "JUPYTERLAB_DIR", "JUPYTER_NO_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    from jupyterlab.labapp import LabApp

    app = LabApp()
    return {
        "app_settings_dir": app.app_settings_dir,
        "schemas_dir": app.schemas_dir,
        "settings_dir": str(tmp_path / "user-settings"),  # none saved from the settings editor
        "labextensions_path": list(app.labextensions_path),
    }


def _registered_factory() -> tuple[str, list[str]]:
    """The notebook widget factory name and file types in the installed jupytext labextension."""
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("labextensions"):
        ext = Path(base) / "jupyterlab-jupytext"
        if (ext / "package.json").exists():
            break
    else:
        pytest.fail(f"the jupytext labextension is not installed; {SETUP_HINT}")
    package = json.loads((ext / "package.json").read_text())
    assert package["jupyterlab"]["extension"], "jupyterlab-jupytext is not a lab extension"
    # The compiled extension declares `FACTORY = "..."` and `FILE_TYPES = [...]` and creates
    # `new NotebookWidgetFactory({name: FACTORY, ..., fileTypes: FILE_TYPES...})`.
    for js in sorted((ext / "static").glob("*.js")):
        text = js.read_text(encoding="utf-8", errors="replace")
        factory = re.search(r'\.FACTORY\s*=\s*"([^"]+)"', text)
        file_types = re.search(r"\.FILE_TYPES\s*=\s*\[([^\]]*)\]", text)
        if factory and file_types and "NotebookWidgetFactory" in text:
            return factory.group(1), re.findall(r'"([^"]+)"', file_types.group(1))
    pytest.fail(f"no NotebookWidgetFactory name found in {ext / 'static'}")


def test_python_files_open_in_the_jupytext_notebook_by_default(lab_paths):
    from jupyterlab_server.settings_utils import get_settings

    result, _warnings = get_settings(**lab_paths, schema_name=PLUGIN)
    # The server hands the frontend the schema with the overrides as its defaults, and the
    # user's raw settings (here none) on top.
    default = result["schema"]["properties"]["defaultViewers"]["default"]
    assert result["settings"] == {}
    assert default.get("python") == "Jupytext Notebook", (
        f"JupyterLab's default viewer for python files is {default.get('python')!r}; {SETUP_HINT}")


def test_the_setting_names_the_factory_jupytext_registers(lab_paths):
    from jupyterlab_server.settings_utils import get_settings

    factory, file_types = _registered_factory()
    assert "python" in file_types  # the factory can open .py files at all
    result, _ = get_settings(**lab_paths, schema_name=PLUGIN)
    assert result["schema"]["properties"]["defaultViewers"]["default"]["python"] == factory
    # ... which is also what jupytext's own `jupytext-config set-default-viewer` writes.
    from jupytext_config.labconfig import LabConfig

    config = LabConfig(settings_file="unused.json")
    config.set_default_viewer("python")
    assert config.get_viewers()["python"] == factory


def test_the_shipped_file_is_what_setup_installs_into_this_environment():
    shipped = json.loads(SHIPPED.read_text())
    assert shipped == {PLUGIN: {"defaultViewers": {"python": "Jupytext Notebook"}}}
    installed = Path(sys.prefix, "etc", "jupyter", "labconfig", "default_setting_overrides.json")
    assert installed.exists(), f"{installed.name} is missing from this environment; {SETUP_HINT}"
    viewers = json.loads(installed.read_text())[PLUGIN]["defaultViewers"]
    assert viewers["python"] == shipped[PLUGIN]["defaultViewers"]["python"]
    # Only .py is switched: the README and other markdown still open as text.
    assert "markdown" not in viewers


# -- a real JupyterLab, in headless Chromium ---------------------------------------------------

@pytest.fixture
def lab_server(tmp_path):
    """`jupyter lab` on 127.0.0.1 (a free port) over the repository, with the user's config,
    data, runtime, settings and workspace folders in tmp_path (the home is not touched)."""
    yield from _serve_lab(tmp_path, REPO)


def _serve_lab(tmp_path, root):
    """`jupyter lab` over ``root``; yields (base URL, token) and shuts it down after."""
    import secrets
    import socket
    import subprocess
    import time
    import urllib.request

    dirs = {var: tmp_path / name for var, name in [
        ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]}
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_CONFIG_PATH", "JUPYTERLAB_DIR")}
    env.update({var: str(path) for var, path in dirs.items()})
    # No news feed, update check or PyPI extension listing: the server fetches nothing off
    # this machine (and does not wait on such a fetch when it shuts down).
    dirs["JUPYTER_CONFIG_DIR"].mkdir()
    (dirs["JUPYTER_CONFIG_DIR"] / "jupyter_server_config.json").write_text(json.dumps({"LabApp": {
        "news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
        "extension_manager": "readonly"}}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not start:\n" + log.read_text()[-3000:])
                time.sleep(0.3)
        yield base, token
    finally:
        # The server's own shutdown stops the kernel the notebook started, then the server.
        try:
            urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/shutdown?token={token}", method="POST"), timeout=10)
            proc.wait(30)
        except (OSError, subprocess.TimeoutExpired):
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_jupyterlab_serves_the_setting_and_opens_a_chapter_py_as_a_notebook(lab_server):
    import time
    import urllib.request

    from headless import Watched, chromium, require_browser

    base, token = lab_server
    with urllib.request.urlopen(f"{base}/lab/api/settings/{PLUGIN}?token={token}") as r:
        served = json.load(r)
    assert served["schema"]["properties"]["defaultViewers"]["default"]["python"] == "Jupytext Notebook"

    require_browser()
    chapter = sorted((REPO / "book").glob("[0-9][0-9]_*.py"))[0]
    with chromium() as browser:
        watched = Watched(browser, viewport={"width": 1400, "height": 900})
        try:
            page = watched.page
            page.goto(f"{base}/lab/tree/book/{chapter.name}?token={token}")
            # Whichever opens: the notebook (jupytext's factory) or the plain text editor.
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell, .jp-FileEditor .cm-content",
                                   timeout=90_000)
            opened = page.evaluate("""() => ({
                tabs: Array.from(document.querySelectorAll('.lm-DockPanel .lm-TabBar-tab'))
                           .map(t => t.textContent.trim()),
                notebooks: document.querySelectorAll('.jp-NotebookPanel').length,
                editors: document.querySelectorAll('.jp-FileEditor').length})""")
            # The notebook starts a kernel: let its session be created before the server is
            # shut down. (Wait through Playwright, whose calls are what serve Watched's routes.)
            deadline, kernel_started = time.monotonic() + 60, False
            while opened["notebooks"] and not kernel_started and time.monotonic() < deadline:
                with urllib.request.urlopen(f"{base}/api/sessions?token={token}") as r:
                    kernel_started = any(s["path"].endswith(chapter.name) for s in json.load(r))
                page.wait_for_timeout(300)
        finally:
            watched.close()
    assert opened["tabs"] == [chapter.name], opened
    assert opened["notebooks"] == 1 and opened["editors"] == 0, opened
    assert kernel_started, "the chapter opened as a notebook but started no kernel"


# -- the latent-space sliders (dcgan_lib.explore) in a real JupyterLab ----------------------------

SLIDERS_NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "sliders", "metadata": {},
               "outputs": [], "source": [
                   "import torch\n",
                   "from dcgan_lib import explore\n",
                   "from dcgan_lib.models import Generator\n",
                   "torch.manual_seed(0)\n",
                   "explore.show(explore.walk(Generator(16, nz=8, ngf=8, nc=1).eval(), n=4));"]}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def lab_over_tmp(tmp_path):
    """JupyterLab over a folder holding one notebook that shows chapter 06's walk sliders."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "sliders.ipynb").write_text(json.dumps(SLIDERS_NOTEBOOK))
    yield from _serve_lab(tmp_path, root)


def test_the_walk_sliders_render_and_redraw_in_jupyterlab(lab_over_tmp):
    """In a kernel JupyterLab started, explore.show displays ipywidgets (not the static
    figure): four sliders and a picture, and moving a slider redraws the picture."""
    import time
    import urllib.request

    from headless import Watched, chromium, require_browser

    require_browser()
    base, token = lab_over_tmp
    with chromium() as browser:
        watched = Watched(browser, viewport={"width": 1400, "height": 900})
        try:
            page = watched.page
            page.goto(f"{base}/lab/tree/sliders.ipynb?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell .cm-content", timeout=90_000)
            deadline, idle = time.monotonic() + 90, False    # the kernel up before the run
            while not idle and time.monotonic() < deadline:
                with urllib.request.urlopen(f"{base}/api/kernels?token={token}") as r:
                    idle = any(k["execution_state"] == "idle" for k in json.load(r))
                page.wait_for_timeout(300)
            assert idle, "the notebook's kernel did not start"
            page.click(".jp-Cell .cm-content")
            page.keyboard.press("Shift+Enter")
            page.wait_for_selector(".jp-OutputArea .widget-slider", timeout=120_000)
            sliders = page.locator(".jp-OutputArea .widget-slider")
            image = page.locator(".jp-OutputArea .widget-image")
            assert sliders.count() == 4 and image.count() == 1
            assert page.locator(".jp-OutputArea img:not(.widget-image)").count() == 0  # no static figure
            before = image.get_attribute("src")
            handle = page.locator(".jp-OutputArea .widget-slider .noUi-handle").nth(2)   # t
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "before => document.querySelector('.jp-OutputArea .widget-image').src !== before",
                arg=before, timeout=60_000)
        finally:
            watched.close()
    assert not [p for p in watched.problems if "widget" in p.lower()], watched.problems
