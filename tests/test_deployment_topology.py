"""The production topology end to end: Debian's nginx with the repo's own deploy/ files, TLS, two Daphne processes.

Everything is the recipe's own: deploy/render.py renders deploy/nginx/smartsession.conf, deploy/smartsession.env
and the systemd unit, and the two Daphne processes run the unit's ExecStart with the env file's variables
(DEBUG=0). Only what a server already has is made here: a self-signed certificate, a private redis-server (so
the test can stop and start it), a database (a fresh PostgreSQL database on DATABASE_URL's server, else a
SQLite file), and nginx's main nginx.conf, which on a server is Debian's and includes the site the same way.
Through https://localhost:<port>, one Chromium with a fake camera logs in, a student streams over wss://, and
the teacher's dashboard sees the student live.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_fixtures import PageServer, free_port, log_in, open_page, wait_until_serving
from deploy_recipe import REPO_ROOT, fresh_database, read_env_file, render, unit_command, unit_setting
from server_process import PrivateRedis
from test_browser_pages import PRESENT, SEEN_WITHIN_MS, card_of, state_is

pytestmark = [pytest.mark.browser, pytest.mark.shared_data, pytest.mark.slow]

PASSWORD = "topology-test-passphrase"
SETUP = f"""
from django.contrib.auth.models import Group, User
from classroom.services import classroom_create, classroom_join
teacher = User.objects.create_user("tina", password="{PASSWORD}")
teacher.groups.add(Group.objects.get_or_create(name="teachers")[0])
classroom = classroom_create(teacher=teacher, name="Topology")
classroom_join(student=User.objects.create_user("stu", password="{PASSWORD}"), code=classroom.join_code)
print(classroom.join_code)
"""
# The part of nginx.conf that Debian's package provides on a server, with this test's folders and a log of
# which Daphne process answered each request; it includes the rendered site as sites-enabled/ would.
NGINX_MAIN = """
user root;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format upstreams '$request_uri $status $upstream_addr sessionid=$cookie_sessionid';
    access_log {folder}/nginx-access.log upstreams;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {site};
}}
"""


@dataclass
class Topology:
    url: str
    http_port: int
    code: str
    folder: Path
    redis: PrivateRedis
    tls: ssl.SSLContext


def _required(program: str, how: str) -> str:
    found = shutil.which(program) or next((path for path in (f"/usr/sbin/{program}", f"/usr/bin/{program}")
                                           if Path(path).is_file()), None)
    if found is None:
        message = f"the topology test needs {program}: {how}"
        if os.getenv("SMARTSESSION_REQUIRE_BROWSER", "").strip() == "1":
            pytest.fail(f"{message} (SMARTSESSION_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(message)
    return found


def _self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    certificate, key = folder / "localhost.pem", folder / "localhost.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(certificate), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )
    return certificate, key


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def topology(tmp_path, collected_static, chromium_executable) -> Topology:
    nginx = _required("nginx", "install Debian's package (apt-get install nginx); .ci/run does")
    _required("redis-server", "install Debian's package (apt-get install redis-server)")
    _required("openssl", "install Debian's package (apt-get install openssl)")
    with ExitStack() as stack:
        redis = PrivateRedis(tmp_path)
        redis.start()
        stack.callback(redis.stop)
        certificate, key = _self_signed_certificate(tmp_path)
        https_port, http_port, *daphne_ports = (free_port() for _ in range(4))
        rendered = render(
            tmp_path / "rendered", SERVER_NAME="localhost", HTTPS_PORT=str(https_port), HTTP_PORT=str(http_port),
            DAPHNE_PORTS=",".join(map(str, daphne_ports)), APP_DIR=str(REPO_ROOT), USER="root",
            DATABASE_URL=fresh_database(stack, tmp_path, "topology"), REDIS_URL=redis.url, TLS_CERTIFICATE=str(certificate),
            TLS_CERTIFICATE_KEY=str(key), STATIC_ROOT=str(collected_static), VISION_WORKERS="1",
        )
        env = {"PATH": os.environ["PATH"], **read_env_file(rendered / "smartsession.env")}
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=REPO_ROOT, env=env, check=True, timeout=300)
        code = subprocess.run([*manage, "shell", "-c", SETUP], cwd=REPO_ROOT, env=env, check=True, timeout=120,
                              capture_output=True, text=True).stdout.split()[-1]

        unit = rendered / "systemd" / "smartsession@.service"
        daphnes = []
        for port in daphne_ports:
            log = tmp_path / f"daphne-{port}.log"
            process = subprocess.Popen(unit_command(unit, str(port)), cwd=unit_setting(unit, "WorkingDirectory"),
                                       env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
            stack.callback(_stop, process)
            daphnes.append((port, process, log))
        for port, process, log in daphnes:
            wait_until_serving(f"http://127.0.0.1:{port}/healthz", process, log)

        main_conf = tmp_path / "nginx.conf"
        main_conf.write_text(NGINX_MAIN.format(folder=tmp_path, site=rendered / "nginx" / "smartsession.conf"))
        nginx_log = tmp_path / "nginx-output.log"
        nginx_process = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(main_conf), "-g", "daemon off;"],
                                         stdout=nginx_log.open("wb"), stderr=subprocess.STDOUT)
        stack.callback(_stop, nginx_process)
        tls = ssl.create_default_context(cafile=str(certificate))
        url = f"https://localhost:{https_port}"
        wait_until_serving(f"{url}/healthz", nginx_process, nginx_log, tls=tls)
        yield Topology(url=url, http_port=http_port, code=code, folder=tmp_path, redis=redis, tls=tls)


def get(topology: Topology, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(f"{topology.url}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=topology.tls) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def readiness_becomes(topology: Topology, status: int, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        answer, _, body = get(topology, "/readyz")
        if answer == status:
            return json.loads(body)
        assert time.monotonic() < deadline, f"/readyz stayed {answer}: {body!r}"
        time.sleep(0.25)


def plain_http(topology: Topology, path: str) -> tuple[int, str | None]:
    """(status, Location) of a plain-HTTP request to nginx's port-80 site."""
    connection = http.client.HTTPConnection("localhost", topology.http_port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


async def test_it_serves_a_class_through_nginx_tls_and_two_daphne_processes(topology, launch_browser, face_camera,
                                                                            collected_static):
    server = PageServer(url=topology.url, code=topology.code, teacher="tina", password=PASSWORD)
    browser = await launch_browser(camera=face_camera)
    errors: list[str] = []

    # Logging in is a POST with its CSRF token through the proxy: Django must see https and the browser's Host.
    teacher = await open_page(browser, errors=errors, ignore_https_errors=True)
    await log_in(teacher, server, "tina", then=f"/teach/{topology.code}/")
    assert teacher.url == f"{topology.url}/teach/{topology.code}/"

    student = await open_page(browser, errors=errors, ignore_https_errors=True)
    sockets: list[str] = []
    student.on("websocket", lambda socket: sockets.append(socket.url))
    await log_in(student, server, "stu")
    await student.goto(f"{topology.url}/class/{topology.code}/")
    await student.click("#consent")
    await student.click("#start-camera")
    await student.wait_for_function(state_is("#state [data-state]", PRESENT), timeout=SEEN_WITHIN_MS)
    assert sockets and all(url.startswith(f"wss://localhost:{topology.url.rsplit(':', 1)[1]}/ws/student/")
                           for url in sockets)

    await teacher.wait_for_function(state_is(await card_of(teacher, "stu"), PRESENT), timeout=SEEN_WITHIN_MS)
    assert errors == []

    # Sticky routing: every request carrying the student's session cookie reached the same Daphne process.
    cookie = next(c["value"] for c in await student.context.cookies() if c["name"] == "sessionid")
    upstreams = {line.split()[2] for line in (topology.folder / "nginx-access.log").read_text().splitlines()
                 if line.endswith(f"sessionid={cookie}")}
    assert len(upstreams) == 1, upstreams

    # Static files from nginx: hashed names, gzip, cached for a year.
    css = re.search(r'href="(/static/css/smartsession\.[0-9a-f]{12}\.css)"', await student.content()).group(1)
    script = re.search(r'src="(/static/js/student\.[0-9a-f]{12}\.js)"', await student.content()).group(1)
    for path in (css, script):
        status, headers, _ = get(topology, path, **{"Accept-Encoding": "gzip"})
        assert status == 200, path
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        assert headers["content-encoding"] == "gzip"

    # The on-device face model's runtime: browsers import an ES module only when it comes as JavaScript (the site
    # says nosniff), and WebAssembly.instantiateStreaming compiles only application/wasm.
    hashed = json.loads((collected_static / "staticfiles.json").read_text())["paths"]
    for name, content_type in (("vendor/tasks-vision/vision_bundle.mjs", "text/javascript"),
                               ("vendor/tasks-vision/wasm/vision_wasm_internal.wasm", "application/wasm")):
        path = f"/static/{hashed[name]}"
        assert re.search(r"\.[0-9a-f]{12}\.(mjs|wasm)$", path), path
        status, headers, _ = get(topology, path)
        assert (status, headers["content-type"].split(";")[0]) == (200, content_type), path
        assert headers["x-content-type-options"] == "nosniff"

    # Plain HTTP goes to the same address on HTTPS, on the site's own HTTPS port (not 443).
    page = f"/class/{topology.code}/?from=qr"
    assert plain_http(topology, page) == (301, f"{topology.url}{page}")

    assert get(topology, "/healthz")[0] == 200
    assert readiness_becomes(topology, 200)["status"] == "ready"
    topology.redis.stop()
    assert readiness_becomes(topology, 503)["failing"] == ["channel_layer"]
    topology.redis.start()
    assert readiness_becomes(topology, 200)["status"] == "ready"

    # MediaPipe's start-up chatter stays out of the servers' output (vision/quiet.py).
    for log in topology.folder.glob("daphne-*.log"):
        assert "XNNPACK" not in log.read_text() and "W0000" not in log.read_text()
