"""The README's promises: the two commands first, and every setting documented."""

from __future__ import annotations

import re
from pathlib import Path

from sendwarden.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def code_blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_demo_and_test_commands() -> None:
    blocks = code_blocks(README.read_text())
    first, second = blocks[0][1].strip(), blocks[1][1].strip()
    assert first.endswith("pip install -e . && sendwarden demo")
    assert second.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    second = code_blocks(README.read_text())[1][1].strip()
    command = second.split("&& ", 2)[-1]  # after creating and activating the virtualenv
    ci = (README.parent / ".ci" / "run").read_text()
    assert command in ci


def test_readme_documents_every_setting() -> None:
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    expected = {name.upper() for name in Settings.model_fields}
    assert expected - documented == set()
    assert documented - expected == set()


def tour_script() -> str:
    tour = README.read_text().split("## A 5-minute tour", 1)[1].split("\n## ", 1)[0]
    return "\n".join(body for lang, body in code_blocks(tour) if lang == "bash")


def expected_lines(script: str) -> list[str]:
    """The `# output` lines of the tour that stand for a whole line of output."""
    return [
        line[2:]
        for line in script.splitlines()
        if line.startswith("# ") and not line.startswith(("# {", "#  "))
    ]


def test_readme_tour_runs_against_a_live_server(tmp_path: Path, sqlite_url: str) -> None:
    import os
    import subprocess
    import sys

    from sendwarden.devsmtp.server import CaptureServer
    from tests.support.live_server import LiveServer, live_env

    script = tour_script()
    assert "outreach/send" in script and "audit verify" in script
    with CaptureServer(tmp_path / "smtp", username="dev", password="tour-password") as smtp:
        env = live_env(
            sqlite_url,
            smtp,
            SMTP_FROM_EMAIL="outreach@yourdomain.example",
            SMTP_ALLOWED_FROM_EMAILS="*@yourdomain.example",
        )
        with LiveServer(env, workdir=tmp_path) as server:
            bin_dir = str(Path(sys.executable).parent)
            runs = [
                subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", script],
                    env={
                        **env,
                        "SW_URL": server.base_url,
                        "PATH": f"{bin_dir}:{os.environ['PATH']}",
                    },
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                for _ in range(2)  # the tour can be run again as it is
            ]
        for number, result in enumerate(runs, 1):
            assert result.returncode == 0, (number, result.stdout + result.stderr)
            output = result.stdout.splitlines()
            for expected in expected_lines(script):
                if number == 1:
                    assert expected in output, (expected, result.stdout)
                else:  # counts grow with every run
                    pattern = re.compile(re.sub(r"\d+", r"\\d+", re.escape(expected)))
                    assert any(pattern.fullmatch(line) for line in output), (expected, output)
        assert len(smtp.messages) == 2
