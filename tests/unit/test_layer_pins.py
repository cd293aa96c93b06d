"""The layer's lock file pins what requirements.txt asks for, at the same versions."""

from agent_sessions_local.template import PROJECT_ROOT

LAYER = PROJECT_ROOT / "layers" / "agent_sessions"


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (LAYER / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            package, version = line.split("==")
            found[package.split("[")[0].lower()] = version
    return found


def test_the_lock_ships_every_requirement_at_its_pinned_version() -> None:
    wanted, locked = pins("requirements.txt"), pins("layer.lock.txt")
    assert {package: locked.get(package) for package in wanted} == wanted
    runtime_provided = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
    assert not runtime_provided & set(locked)
