"""The production deployment path: deploy/ (systemd units, Procfile), gunicorn.conf.py and
.env.example point at things that exist, start, and say what the code reads."""

import importlib
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = {
    "web": DEPLOY / "systemd" / "portal-web.service",
    "worker": DEPLOY / "systemd" / "portal-worker.service",
    "beat": DEPLOY / "systemd" / "portal-beat.service",
}
APP_DIR = "/srv/portal/app"
VENV_BIN = "/srv/portal/venv/bin/"
VAR_DIR = "/srv/portal/var"
SECRETS = ("SECRET_KEY", "CARD_PAN_HASH_KEY", "CARD_VERIFICATION_KEY", "PROCESSOR_WEBHOOK_SECRET")


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd's format: [Section], Key=Value lines (keys may repeat), # comments."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        assert current is not None, f"{path.name}: {line!r} outside a section"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def parse_procfile() -> dict[str, str]:
    processes = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = command.strip()
    return processes


def unit_command(name: str) -> list[str]:
    (exec_start,) = parse_unit(UNITS[name])["Service"]["ExecStart"]
    return shlex.split(exec_start.replace("%%", "%"))


def unit_environment(name: str) -> dict[str, str]:
    service = parse_unit(UNITS[name])["Service"]
    return dict(item.split("=", 1) for item in service.get("Environment", []))


def _expand(command: list[str], env: dict[str, str]) -> list[str]:
    """${NAME} and ${NAME:-default}, as systemd and a Procfile's shell do."""

    def one(match):
        name, _, default = match.group(1).partition(":-")
        return env.get(name, default)

    return [re.sub(r"\$\{([^}]+)\}", one, part) for part in command]


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "DJANGO_SETTINGS_MODULE"}
    env.update({name: f"{name.lower()}-" + "x" * 50 for name in SECRETS})
    env.update(
        {
            "DEBUG": "false",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "ALLOWED_HOSTS": "portal.example.com",
            "VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
            "CELERY_BROKER_URL": "memory://",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            **extra,
        }
    )
    return env


# --- systemd units ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_runs_as_a_dedicated_user_with_the_environment_file(name):
    service = parse_unit(UNITS[name])["Service"]
    assert service["User"] == ["portal"] and service["Group"] == ["portal"]
    assert service["EnvironmentFile"] == ["/etc/portal/portal.env"]
    assert service["WorkingDirectory"] == [APP_DIR]
    assert "DJANGO_SETTINGS_MODULE=portal.settings" in service["Environment"]
    assert service["Restart"] == ["on-failure"]


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_is_hardened_and_writes_only_to_the_var_directory(name):
    service = parse_unit(UNITS[name])["Service"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["ReadWritePaths"] == [VAR_DIR]
    assert service["PrivateTmp"] == ["yes"]
    assert service["ProtectHome"] == ["yes"]
    assert service["CapabilityBoundingSet"] == [""]


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_is_installable(name):
    unit = parse_unit(UNITS[name])
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert unit["Unit"]["Description"]


def test_units_start_programs_from_the_virtualenv_that_pip_installs():
    for name in UNITS:
        program = unit_command(name)[0]
        assert program.startswith(VENV_BIN), name
        assert (Path(sys.executable).parent / program.removeprefix(VENV_BIN)).exists(), program


def test_web_unit_runs_gunicorn_with_our_config_and_wsgi_module():
    command = unit_command("web")
    assert command[1:] == ["-c", "gunicorn.conf.py", "portal.wsgi"]
    assert (ROOT / "gunicorn.conf.py").is_file()
    assert hasattr(importlib.import_module("portal.wsgi"), "application")
    service = parse_unit(UNITS["web"])["Service"]
    assert service["Type"] == ["notify"]  # gunicorn tells systemd when it is ready
    assert service["ExecReload"] == ["/bin/kill -s HUP $MAINPID"]


def test_worker_and_beat_units_run_the_portal_celery_app():
    from celery import Celery

    for name, subcommand in (("worker", "worker"), ("beat", "beat")):
        command = unit_command(name)
        assert command[1:4] == ["-A", "portal", subcommand], name
    assert isinstance(importlib.import_module("portal.celery").app, Celery)
    assert importlib.import_module("portal").celery_app is importlib.import_module("portal.celery").app


def test_worker_unit_consumes_the_queue_tasks_are_sent_to(settings):
    command = _expand(unit_command("worker"), unit_environment("worker"))
    assert command[command.index("--queues") + 1] == settings.CELERY_TASK_DEFAULT_QUEUE
    assert int(command[command.index("--concurrency") + 1]) >= 1


def test_worker_stops_only_after_its_longest_task(settings):
    (stop,) = parse_unit(UNITS["worker"])["Service"]["TimeoutStopSec"]
    assert int(stop) > settings.CELERY_TASK_TIME_LIMIT


def test_beat_keeps_its_schedule_in_the_writable_var_directory():
    command = unit_command("beat")
    assert command[command.index("--schedule") + 1].startswith(VAR_DIR + "/")


# --- Procfile --------------------------------------------------------------------------------


def test_procfile_has_web_worker_beat_and_a_release_that_migrates():
    processes = parse_procfile()
    assert set(processes) == {"release", "web", "worker", "beat"}
    assert processes["release"] == "python manage.py migrate --noinput"


def test_procfile_runs_the_same_commands_as_the_units():
    processes = parse_procfile()
    for name in UNITS:
        unit = unit_command(name)
        procfile = shlex.split(processes[name])
        assert procfile[0] == unit[0].removeprefix(VENV_BIN), name
        # Same options, values aside (paths and defaults differ between the two).
        assert [part for part in procfile if part.startswith("-")] == [part for part in unit if part.startswith("-")]


def test_manage_wrapper_uses_the_units_environment_and_is_valid_shell():
    script = (DEPLOY / "manage.sh").read_text()
    assert "EnvironmentFile=/etc/portal/portal.env" in script
    assert f"--working-directory={APP_DIR}" in script
    assert os.access(DEPLOY / "manage.sh", os.X_OK)
    subprocess.run(["sh", "-n", str(DEPLOY / "manage.sh")], check=True)


# --- They start --------------------------------------------------------------------------------


def test_gunicorn_accepts_the_config_and_loads_the_app(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", "gunicorn.conf.py", "portal.wsgi"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _gunicorn_config(tmp_path, **env):
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "-c", "gunicorn.conf.py", "portal.wsgi"],
        cwd=ROOT,
        env=production_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in result.stdout.splitlines())
        if value
    )


def test_gunicorn_defaults_are_safe_and_read_from_the_environment(tmp_path):
    defaults = _gunicorn_config(tmp_path)
    assert defaults["bind"] == "['127.0.0.1:8000']"
    assert int(defaults["workers"]) == 2 * len(os.sched_getaffinity(0)) + 1
    assert defaults["accesslog"] == "None"  # the app logs the request line
    assert int(defaults["max_requests"]) > 0 and int(defaults["max_requests_jitter"]) > 0
    tuned = _gunicorn_config(
        tmp_path, GUNICORN_BIND="0.0.0.0:9000", WEB_CONCURRENCY="3", GUNICORN_THREADS="4", GUNICORN_TIMEOUT="20"
    )
    assert tuned["bind"] == "['0.0.0.0:9000']"
    assert (tuned["workers"], tuned["threads"], tuned["timeout"]) == ("3", "4", "20")


def _run_until(command, env, marker, timeout=90, then=None):
    """Start a long-running command, wait for `marker` on its stderr (and then, if given,
    for ``then()`` to be true: what a process logs may come before what it does), stop it."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            seen.append(line)
            if marker in line:
                while then is not None and not then():
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise AssertionError(
                            f"after {marker!r}, the expected result never came; output:\n{''.join(seen)}"
                        )
                    time.sleep(0.1)
                return seen
        raise AssertionError(f"{marker!r} not seen; output:\n{''.join(seen)}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_worker_command_starts_and_logs_json(tmp_path):
    env = production_env(tmp_path, CELERY_CONCURRENCY="1")
    command = _expand(unit_command("worker"), env)
    command[0] = str(Path(sys.executable).parent / "celery")
    lines = _run_until(command + ["--pool", "solo"], env, "ready.")
    assert any(line.startswith("{") and '"logger": "celery.apps.worker"' in line for line in lines)


def test_beat_command_starts_with_its_schedule_under_var(tmp_path):
    env = production_env(tmp_path)
    command = unit_command("beat")
    command[0] = str(Path(sys.executable).parent / "celery")
    schedule = tmp_path / "var" / "celerybeat-schedule"
    command[command.index("--schedule") + 1] = str(schedule)
    (tmp_path / "var").mkdir()
    # beat logs "Starting" before it opens its schedule file.
    _run_until(command, env, "beat: Starting", then=lambda: any((tmp_path / "var").glob("celerybeat-schedule*")))
    assert list((tmp_path / "var").glob("celerybeat-schedule*"))


# --- .env.example ------------------------------------------------------------------------------

ENV_READ = re.compile(r"""env\.(?:str|bool|int|float|list|db|cache_url|email_url)\(\s*["']([A-Z0-9_]+)["']""")
ENV_DOCUMENTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=", re.MULTILINE)
# Read by programs rather than by settings.py: the units, gunicorn.conf.py, the Procfile.
READ_ELSEWHERE = {"CELERY_CONCURRENCY"}


def _documented() -> set[str]:
    return set(ENV_DOCUMENTED.findall((ROOT / ".env.example").read_text()))


def _read_by_code() -> set[str]:
    settings_names = set(ENV_READ.findall((ROOT / "portal" / "settings.py").read_text()))
    gunicorn_names = set(
        re.findall(
            r"""(?:environ\.get\(|environ\[|_int\()\s*["']([A-Z][A-Z0-9_]+)["']""",
            (ROOT / "gunicorn.conf.py").read_text(),
        )
    )
    return settings_names | gunicorn_names


def test_env_example_documents_every_variable_the_settings_read():
    missing = _read_by_code() - _documented()
    assert not missing, f"not in .env.example: {sorted(missing)}"


def test_env_example_documents_only_variables_something_reads():
    settings_text = (ROOT / "portal" / "settings.py").read_text()
    unknown = {
        name
        for name in _documented() - _read_by_code() - READ_ELSEWHERE
        # Names built in settings.py from a prefix (key versions): CARD_PAN_HASH_KEY_VERSION.
        if not any(part in settings_text for part in (name.removesuffix("_VERSION"), name.removesuffix("_OLD_KEYS")))
    }
    assert not unknown, f".env.example documents variables nothing reads: {sorted(unknown)}"
    for name in READ_ELSEWHERE:
        assert "${" + name in (DEPLOY / "Procfile").read_text()


def test_env_example_is_production_ready():
    text = (ROOT / ".env.example").read_text()
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", text, re.MULTILINE))
    assert values["DEBUG"] == "false"
    assert values["LOG_FORMAT"] == "json"
    assert values["DATABASE_URL"].startswith("postgres://")
    assert values["CACHE_URL"].startswith("redis://") and values["CELERY_BROKER_URL"].startswith("redis://")
    assert values["CACHE_URL"] != values["CELERY_BROKER_URL"]  # separate Redis databases
    for secret in SECRETS:
        assert values[secret] == "", f"{secret} must be left for the operator to fill in"
