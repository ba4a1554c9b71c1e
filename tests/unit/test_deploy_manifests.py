"""Checks of the container deployment files (deploy/) without a Docker engine.

The build machines cannot run `docker compose config`, so this module does what it
would: validate deploy/docker-compose.yml against the Compose Specification JSON
schema (vendored in tests/schemas/), and check that what the manifests name is real
in this repository (modules run with `python -m`, databases, mounted files).
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator

from services import deployfiles
from services.common import catalogue

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
POSTGRES_INIT = DEPLOY / "postgres-init.sql"
DOCKERIGNORE = ROOT / ".dockerignore"
SCHEMA_FILE = ROOT / "tests" / "schemas" / "compose-spec.json"

# Services provided by third-party images; every other service runs this project's image.
INFRASTRUCTURE = {"rabbitmq", "postgres"}
# Services started with `python -m services.launch <name>`: the catalogue's.
KNOWN_APP_SERVICES = set(catalogue.names())

PYTHON_M = re.compile(r"\bpython3?\s+-m\s+([A-Za-z_][\w.]*)")
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


# --------------------------------------------------------------------------- helpers


def _load_compose() -> dict:
    # safe_load resolves the YAML anchors and `<<` merge keys as compose does.
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose() -> dict:
    return _load_compose()


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def _schema_errors(validator: Draft7Validator, document: dict) -> list[str]:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in errors
    ]


def _app_services(compose: dict) -> dict[str, dict]:
    return {
        name: service for name, service in compose["services"].items() if name not in INFRASTRUCTURE
    }


def _argv(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _healthcheck_argv(service: dict) -> list[str]:
    test = _argv(service["healthcheck"]["test"])
    if test and test[0] in ("CMD", "CMD-SHELL"):
        test = test[1:] if test[0] == "CMD" else shlex.split(" ".join(test[1:]))
    return test


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined, comments dropped."""
    text = DOCKERFILE.read_text()
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    pairs = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def _dockerfile_exec_argv(args: str) -> list[str]:
    """Arguments of CMD/ENTRYPOINT/RUN in exec (JSON) or shell form, as an argv."""
    if args.startswith("["):
        return [str(a) for a in json.loads(args)]
    return shlex.split(args)


def _python_m_modules_in_compose(compose: dict) -> set[str]:
    found: set[str] = set()
    for service in compose["services"].values():
        for key in ("command", "entrypoint"):
            if key in service:
                found.update(PYTHON_M.findall(" ".join(_argv(service[key]))))
        if "healthcheck" in service and "test" in service["healthcheck"]:
            found.update(PYTHON_M.findall(" ".join(_healthcheck_argv(service))))
    return found


def _python_m_modules_in_dockerfile() -> set[str]:
    found: set[str] = set()
    for keyword, args in _dockerfile_instructions():
        if keyword in ("CMD", "ENTRYPOINT", "RUN", "HEALTHCHECK"):
            if keyword == "HEALTHCHECK":
                args = args.partition("CMD")[2].strip()
            found.update(PYTHON_M.findall(" ".join(_dockerfile_exec_argv(args))))
    return found


def _installed_top_level_packages() -> list[str]:
    """Package name patterns installed by `pip install .` (from pyproject.toml)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject["tool"]["setuptools"]["packages"]["find"]["include"]


def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- the schema


def test_vendored_schema_is_a_valid_draft7_compose_schema():
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft7Validator.check_schema(schema)
    assert schema["title"] == "Compose Specification"
    assert "services" in schema["properties"]
    assert "service" in schema["definitions"]


def test_compose_file_matches_compose_spec_schema(compose, validator):
    errors = _schema_errors(validator, compose)
    assert not errors, "deploy/docker-compose.yml does not match the Compose schema:\n" + (
        "\n".join(errors)
    )


def _break_ports(doc: dict) -> None:
    doc["services"]["gateway"]["ports"] = 8000


def _add_unknown_top_level_key(doc: dict) -> None:
    doc["servics"] = {"typo": {"image": "busybox"}}


def _bad_depends_on_condition(doc: dict) -> None:
    doc["services"]["gateway"]["depends_on"]["registry"]["condition"] = "service_ready"


def _unknown_service_key(doc: dict) -> None:
    doc["services"]["registry"]["healthcheck_cmd"] = "true"


@pytest.mark.parametrize(
    ("mutate", "expected_path"),
    [
        (_break_ports, "services/gateway/ports"),
        (_add_unknown_top_level_key, "<root>"),
        (_bad_depends_on_condition, "services/gateway/depends_on"),
        (_unknown_service_key, "services/registry"),
    ],
    ids=["ports-as-int", "unknown-top-level-key", "bad-depends-on-condition", "unknown-key"],
)
def test_schema_rejects_broken_compose_documents(compose, validator, mutate, expected_path):
    """The validator bites: a deliberately broken copy of the compose file fails."""
    broken = copy.deepcopy(compose)
    mutate(broken)
    errors = _schema_errors(validator, broken)
    assert errors, f"{mutate.__name__}: broken document passed schema validation"
    assert any(e.startswith(expected_path) for e in errors), errors


# --------------------------------------------------------------------------- compose semantics


def test_generated_deploy_files_are_up_to_date():
    assert deployfiles.stale_files() == [], "run `make deploy-files` and commit the result"


def test_compose_runs_exactly_the_services_of_the_catalogue(compose):
    assert set(compose["services"]) == INFRASTRUCTURE | KNOWN_APP_SERVICES


def test_every_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"service {name!r} has no healthcheck"
        assert not healthcheck.get("disable"), f"service {name!r} disables its healthcheck"
        assert _healthcheck_argv(service), f"service {name!r} has an empty healthcheck test"
        for key in ("interval", "timeout", "start_period"):
            if key in healthcheck:
                assert DURATION.match(str(healthcheck[key])), (name, key, healthcheck[key])


def test_every_service_is_started_again_when_it_exits(compose):
    """A service whose container dies ends its process (services/common/container.py); the
    restart policy is what brings it back (docs/operations.md)."""
    for name, service in compose["services"].items():
        assert service.get("restart") in ("unless-stopped", "always"), name


def test_app_services_use_the_project_image_and_launcher(compose):
    for name, service in _app_services(compose).items():
        build = service.get("build")
        assert isinstance(build, dict), f"{name}: build must be a mapping"
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT, f"{name}: build context {context} is not the repository root"
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE, name
        assert _argv(service["command"]) == ["python", "-m", "services.launch", name]
        assert _healthcheck_argv(service) == ["python", "-m", "services.healthcheck", name]


def test_every_depends_on_waits_for_service_healthy(compose):
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on")
        if depends_on is None:
            continue
        assert isinstance(depends_on, dict), (
            f"{name}: depends_on must be a mapping with conditions, not a list"
        )
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name} depends on unknown service {dependency!r}"
            assert spec.get("condition") == "service_healthy", (name, dependency, spec)
            assert "healthcheck" in services[dependency], (
                f"{name} waits for {dependency} to be healthy, but it has no healthcheck"
            )
    for entry in catalogue.SERVICES:
        expected = {"rabbitmq"} | ({"postgres"} if entry.database else set())
        if entry.readiness == catalogue.HTTP_PROBE:
            expected |= {other.name for other in catalogue.rpc_services()}
        assert set(services[entry.name]["depends_on"]) == expected, entry.name


def test_gateway_is_published_on_the_hosts_loopback_only(compose):
    """The container listens on all its interfaces, but the host publishes it on 127.0.0.1:
    the public door is a TLS proxy on the host (docs/deploy.md), never plain HTTP."""
    gateway = compose["services"]["gateway"]
    assert [str(p) for p in gateway["ports"]] == ["127.0.0.1:8000-8009:8000"]
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert _environment(gateway)["WEB_SERVER_ADDRESS"] == "0.0.0.0:8000"


def test_every_service_can_be_scaled(compose):
    """`docker compose up --scale events=2` (any service): no fixed container name, and no
    fixed host port (the gateway's is a range, one port an instance)."""
    for name in catalogue.names():
        service = compose["services"][name]
        assert "container_name" not in service, name
        for port in service.get("ports", []):
            host = str(port).split(":")[1]
            assert "-" in host, (name, port)


def test_secrets_are_required_from_the_environment(compose):
    for name, service in _app_services(compose).items():
        env = _environment(service)
        for variable in ("JWT_SECRET", "CALLER_KEY", "ALUMNI_ADMIN_PASSWORD"):
            assert re.fullmatch(rf"\$\{{{variable}:\?.+\}}", env.get(variable, "")), (
                f"{name}: {variable} must be '${{{variable}:?message}}', got {env.get(variable)!r}"
            )


def test_service_urls_point_at_compose_services(compose):
    services = compose["services"]
    for name, service in _app_services(compose).items():
        env = _environment(service)
        assert urlsplit(env["AMQP_URI"]).hostname == "rabbitmq", name
        for key, value in env.items():
            if key.endswith("_DATABASE_URL"):
                url = urlsplit(value)
                assert url.hostname in services, f"{name}: {key} host {url.hostname!r}"
                assert url.username == _environment(services["postgres"])["POSTGRES_USER"]


def test_postgres_init_script_creates_every_configured_database(compose):
    wanted = {
        urlsplit(value).path.lstrip("/")
        for service in compose["services"].values()
        for key, value in _environment(service).items()
        if key.endswith("_DATABASE_URL")
    }
    assert "registry" in wanted
    owner = _environment(compose["services"]["postgres"])["POSTGRES_USER"]
    created = dict(
        re.findall(
            r"CREATE\s+DATABASE\s+(\w+)\s+OWNER\s+(\w+)\s*;",
            POSTGRES_INIT.read_text(),
            flags=re.IGNORECASE,
        )
    )
    missing = wanted - set(created)
    assert not missing, f"postgres-init.sql does not create: {sorted(missing)}"
    assert {entry.name for entry in catalogue.with_database()} == set(created)
    assert all(o == owner for o in created.values()), created


def test_bind_mounts_and_init_script_exist(compose):
    mounted = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                path = (DEPLOY / source).resolve()
                assert path.exists(), f"{name}: bind mount source {source} does not exist"
                mounted.append(path)
            else:
                assert source in (compose.get("volumes") or {}), (
                    f"{name}: named volume {source!r} is not declared"
                )
    assert POSTGRES_INIT.resolve() in mounted


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_base_install_and_default_command():
    instructions = _dockerfile_instructions()
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert froms and froms[0].split()[0] == "python:3.11-slim"
    assert ("WORKDIR", "/app") in instructions
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "pip install --no-cache-dir ." in runs
    cmd = [args for keyword, args in instructions if keyword == "CMD"]
    assert cmd, "Dockerfile has no CMD"
    assert _dockerfile_exec_argv(cmd[-1]) == ["python", "-m", "services.launch", "gateway"]


def test_dockerfile_copies_only_existing_project_files():
    for keyword, args in _dockerfile_instructions():
        if keyword not in ("COPY", "ADD"):
            continue
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        for source in parts[:-1]:
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"
            assert source.split("/")[0] not in {".venv", "var", ".git", "tests", "bench"}


def test_dockerfile_runs_as_non_root_user():
    users = [args for keyword, args in _dockerfile_instructions() if keyword == "USER"]
    assert users, "Dockerfile has no USER instruction"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"final USER is {users[-1]!r}"


def test_dockerignore_excludes_local_state():
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".venv", "var", ".git", "tests", "bench"):
        assert required in patterns, f".dockerignore does not exclude {required}"
    assert "**/__pycache__" in patterns or "__pycache__" in patterns


# --------------------------------------------------------------------------- honesty


def test_python_m_modules_named_by_the_manifests_exist():
    """Every `python -m X` in compose and the Dockerfile is a module of the installed packages.

    services.launch and services.healthcheck are written separately; until they exist
    this test fails on purpose.
    """
    modules = _python_m_modules_in_compose(_load_compose()) | _python_m_modules_in_dockerfile()
    assert {"services.launch", "services.healthcheck"} <= modules, modules
    include = _installed_top_level_packages()
    problems = []
    for module in sorted(modules):
        top = module.split(".")[0]
        if not any(re.fullmatch(p.replace("*", ".*"), top) for p in include):
            problems.append(f"{module}: not in a package that `pip install .` installs")
        elif _module_file(module) is None:
            problems.append(f"{module}: no {module.replace('.', '/')}.py in the repository")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the broker


BROKER_DEFINITIONS = DEPLOY / "rabbitmq-definitions.json"
BROKER_ENTRYPOINT = DEPLOY / "rabbitmq-entrypoint.sh"


def _rendered_definitions(tmp_path: Path, passwords: dict[str, str]):
    """Runs the broker container's entrypoint here, on a copy, up to starting RabbitMQ."""
    script = BROKER_ENTRYPOINT.read_text()
    script = script.replace("/etc/alumni/rabbitmq-definitions.json", str(BROKER_DEFINITIONS))
    script = script.replace(deployfiles.RENDERED_DEFINITIONS, str(tmp_path / "out.json"))
    script = script.replace("exec docker-entrypoint.sh rabbitmq-server", "true")
    return subprocess.run(
        ["sh", "-c", script], env=passwords, capture_output=True, text=True, check=False
    )


def test_the_broker_loads_one_account_per_service_and_none_for_guest(compose):
    rabbitmq = compose["services"]["rabbitmq"]
    mounts = [v.split(":")[1] for v in rabbitmq["volumes"] if v.startswith("./")]
    assert "/etc/rabbitmq/conf.d/20-alumni.conf" in mounts
    conf = (DEPLOY / "rabbitmq.conf").read_text()
    assert f"load_definitions = {deployfiles.RENDERED_DEFINITIONS}" in conf
    document = json.loads(BROKER_DEFINITIONS.read_text())
    users = {u["name"]: u for u in document["users"]}
    assert set(users) == {f"alumni-{name}" for name in catalogue.names()}
    assert all(u["password_hash"] == "" for u in users.values()), "no password in the file"
    assert {p["user"] for p in document["permissions"]} == set(users)
    assert {p["vhost"] for p in document["permissions"]} == {"alumni"}


def test_each_service_gets_its_own_broker_password_only_and_the_broker_all(compose):
    variables = {f"BROKER_PASSWORD_{name.upper()}" for name in catalogue.names()}
    broker = _environment(compose["services"]["rabbitmq"])
    assert variables <= set(broker)
    for name, service in _app_services(compose).items():
        env = _environment(service)
        assert {v for v in variables if v in env} == {f"BROKER_PASSWORD_{name.upper()}"}, name
        assert re.fullmatch(
            r"\$\{BROKER_PASSWORD_\w+:\?.+\}", env[f"BROKER_PASSWORD_{name.upper()}"]
        )
        assert urlsplit(env["AMQP_URI"]).username is None, "no shared account in AMQP_URI"


def test_the_broker_entrypoint_puts_every_password_in(tmp_path):
    passwords = {f"BROKER_PASSWORD_{n.upper()}": f"pw-{n}_1" for n in catalogue.names()}
    result = _rendered_definitions(tmp_path, passwords)
    assert result.returncode == 0, result.stderr
    users = json.loads((tmp_path / "out.json").read_text())["users"]
    assert {u["name"]: u.get("password") for u in users} == {
        f"alumni-{n}": f"pw-{n}_1" for n in catalogue.names()
    }
    assert not any("password_hash" in u for u in users)


@pytest.mark.parametrize("bad", ["", 'x"y', "a|b", "a b"])
def test_the_broker_entrypoint_refuses_a_missing_or_unsafe_password(tmp_path, bad):
    passwords = {f"BROKER_PASSWORD_{n.upper()}": "fine" for n in catalogue.names()}
    passwords["BROKER_PASSWORD_EVENTS"] = bad
    result = _rendered_definitions(tmp_path, passwords)
    assert result.returncode != 0
    assert "BROKER_PASSWORD_EVENTS" in result.stderr
    assert not (tmp_path / "out.json").exists()
