#!/usr/bin/env python3
"""Fills in the deployment templates in this folder for one server.

    python3 deploy/render.py --out DIR NAME=VALUE ...

Every file under deploy/nginx, deploy/systemd and deploy/smartsession.env is written to the same relative path
under DIR, with each @NAME@ replaced by its value. A placeholder without a value, or a value that no template
uses (a typo), is an error. Standard library only, so it runs with any python3, before the virtualenv exists.

Values (see docs/deployment.md):
  SERVER_NAME          the host name students type, e.g. class.school.example
  APP_DIR              the folder holding this repository and its .venv, e.g. /srv/smartsession
  USER                 the system user the processes run as, e.g. smartsession
  DATABASE_URL         e.g. postgres://smartsession@127.0.0.1:5432/smartsession
  REDIS_URL            e.g. redis://127.0.0.1:6379/0
  TLS_CERTIFICATE      the certificate chain nginx presents (PEM)
  TLS_CERTIFICATE_KEY  its private key (PEM)
  STATIC_ROOT          where collectstatic writes and nginx reads, default APP_DIR/var/static
  DAPHNE_PORTS         the local ports of the Daphne processes, default 8001,8002
  HTTPS_PORT, HTTP_PORT  where nginx listens, default 443 and 80
  TIME_ZONE            the school's IANA time zone, default UTC
  SECRET_KEY           default: a new random key (render once and keep the file: a new key logs everyone out)
  VISION_WORKERS       face-analysis threads per process, default this machine's cores / number of processes
Derived: UPSTREAM_SERVERS (from DAPHNE_PORTS) and PUBLIC_ORIGIN (https://SERVER_NAME[:HTTPS_PORT]).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = ["nginx/smartsession.conf", "smartsession.env", *sorted(
    str(path.relative_to(HERE)) for path in (HERE / "systemd").glob("*") if path.is_file()
)]
PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")
# What means something to the shell that reads smartsession.env (deploy/manage, backup, restore), to systemd or
# to nginx: a value holding one would be cut short, or run as a command, in a file that looks fine.
UNSAFE_IN_VALUE = re.compile(r"[\s'\"`$\\;&|<>(){}]")


def values_with_defaults(given: dict[str, str]) -> dict[str, str]:
    values = dict(given)
    values.setdefault("DAPHNE_PORTS", "8001,8002")
    values.setdefault("HTTPS_PORT", "443")
    values.setdefault("HTTP_PORT", "80")
    values.setdefault("TIME_ZONE", "UTC")
    values.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    if "APP_DIR" in values:
        values.setdefault("STATIC_ROOT", f"{values['APP_DIR'].rstrip('/')}/var/static")
    ports = [port.strip() for port in values.pop("DAPHNE_PORTS").split(",") if port.strip()]
    if not ports or not all(port.isdigit() for port in ports):
        raise SystemExit("DAPHNE_PORTS must be a comma-separated list of port numbers, e.g. 8001,8002")
    values.setdefault("VISION_WORKERS", str(max(1, (os.cpu_count() or 1) // len(ports))))
    values["UPSTREAM_SERVERS"] = "\n    ".join(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in ports)
    if "SERVER_NAME" in values:
        port = "" if values["HTTPS_PORT"] == "443" else f":{values['HTTPS_PORT']}"
        values["PUBLIC_ORIGIN"] = f"https://{values['SERVER_NAME']}{port}"
    return values


def render(values: dict[str, str], out: Path, *, given: set[str]) -> list[Path]:
    missing: set[str] = set()
    used: set[str] = set()
    rendered = {}
    for name in TEMPLATES:
        text = (HERE / name).read_text()
        for placeholder in PLACEHOLDER.findall(text):
            (used if placeholder in values else missing).add(placeholder)
        rendered[name] = PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)
    unused = given - used - {"DAPHNE_PORTS"}  # used through UPSTREAM_SERVERS
    if missing or unused:
        problems = []
        if missing:
            problems.append(f"no value for {', '.join(sorted(missing))}")
        if unused:
            problems.append(f"no template uses {', '.join(sorted(unused))}")
        raise SystemExit("render.py: " + "; ".join(problems) + ". See python3 deploy/render.py --help.")
    written = []
    for name, text in rendered.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if name == "smartsession.env":
            target.chmod(0o600)  # it holds the secret key and the database password
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the rendered files to")
    parser.add_argument("values", nargs="*", metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    given = {}
    for item in args.values:
        name, separator, value = item.partition("=")
        if not separator or not PLACEHOLDER.fullmatch(f"@{name}@"):
            parser.error(f"{item!r} is not NAME=VALUE with NAME in capitals")
        if unsafe := UNSAFE_IN_VALUE.search(value):
            parser.error(f"{name}'s value holds {unsafe.group()!r}: no spaces, quotes or any of $ \\ ; & | < > ( ) "
                         "{ } in a value (percent-encode them in a URL)")
        given[name] = value
    for path in render(values_with_defaults(given), args.out, given=set(given)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
