"""Read this machine's package-source settings for the container scaffolding.

The container test builds its base image from the same Debian mirror and Python package
index this machine already uses, so nothing about a particular network is written into the
repository: run.sh asks this script at run time.

    python3 host_config.py mirror      # the Debian mirror URI for debootstrap
    python3 host_config.py pip-conf    # a pip.conf for inside the image (network indexes only)

Only the standard library is used: it runs with the host's python3 before any venv exists.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from pathlib import Path

APT_DIR = Path("/etc/apt")
PIP_FILES = (
    Path("/etc/pip.conf"),
    Path("/etc/xdg/pip/pip.conf"),
    Path.home() / ".config" / "pip" / "pip.conf",
    Path.home() / ".pip" / "pip.conf",
)
# Keys copied into the image; paths on this machine (find-links, constraint, cert) mean
# nothing inside it, and the image sets its own certificate bundle.
PIP_KEYS = ("index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout")
PIP_ENV = {
    "PIP_INDEX_URL": "index-url",
    "PIP_EXTRA_INDEX_URL": "extra-index-url",
    "PIP_TRUSTED_HOST": "trusted-host",
    "PIP_DEFAULT_TIMEOUT": "timeout",
}


def apt_source_files() -> list[Path]:
    """The apt source files apt itself would read, in its order."""
    files = [APT_DIR / "sources.list"]
    parts = APT_DIR / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    return [f for f in files if f.is_file()]


def debian_mirror() -> str:
    """The first main-archive URI (not the security archive) from the apt sources."""
    candidates: list[str] = []
    for path in apt_source_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields = dict(
                    (k.strip().lower(), v.strip())
                    for k, v in (
                        line.split(":", 1)
                        for line in stanza.splitlines()
                        if ":" in line and not line.lstrip().startswith("#")
                    )
                )
                if "deb" in fields.get("types", "").split() and fields.get("enabled") != "no":
                    candidates += fields.get("uris", "").split()
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", " ", line).split()
                if len(words) >= 3 and words[0] == "deb":
                    candidates.append(words[1])
    main = [u for u in candidates if u.startswith("http") and "security" not in u]
    if not main:
        raise SystemExit("no http(s) Debian mirror found in the apt sources")
    return main[0]


def pip_settings() -> dict[str, str]:
    """Network index settings from pip's config files and environment, later ones winning."""
    parser = configparser.ConfigParser(interpolation=None)
    for path in PIP_FILES:
        if path.is_file():
            parser.read(path, encoding="utf-8")
    env_file = os.environ.get("PIP_CONFIG_FILE")
    if env_file and env_file != os.devnull and Path(env_file).is_file():
        parser.read(env_file, encoding="utf-8")
    settings: dict[str, str] = {}
    for section in ("global", "install"):
        if parser.has_section(section):
            for key in PIP_KEYS:
                if parser.has_option(section, key):
                    settings[key.replace("default-", "")] = parser.get(section, key)
    for env, key in PIP_ENV.items():
        if os.environ.get(env):
            settings[key] = os.environ[env]
    for key in ("index-url", "extra-index-url"):
        if key in settings:
            urls = [u for u in settings[key].split() if u.startswith(("http://", "https://"))]
            if urls:
                settings[key] = " ".join(urls)
            else:
                del settings[key]
    return settings


def pip_conf() -> str:
    """A pip.conf that trusts the image's CA bundle and uses the host's network indexes."""
    lines = ["[global]", "cert = /etc/ssl/certs/ca-certificates.crt"]
    lines += [f"{key} = {value}" for key, value in sorted(pip_settings().items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Print the asked-for setting."""
    if argv == ["mirror"]:
        print(debian_mirror())
    elif argv == ["pip-conf"]:
        sys.stdout.write(pip_conf())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
