"""A simulated class: real WebSocket students playing real face video, and teachers watching, against a running server.

    python manage.py simulate_class --class CODE [--students 6] [--fps 10] [--seconds 30] [--url http://127.0.0.1:8000]
                                    [--teachers 1] [--closed-loop] [--behaviour NAME] [--on-device]
                                    [--server-pid PID] [--json]
    python manage.py simulate_class --naive URL [--students 6] [--fps 10] ...

Run it with the server's DATABASE_URL: it makes its students (sim01, sim02, ...), their memberships, consent and
tokens in the database its settings point at, and the server must find them there. `--naive URL` drives the naive
reference server of the capacity benchmark (bench/naive_server.py) instead: no accounts, no teachers, no database.
"""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from classroom.models import Classroom, normalize_join_code
from classroom.simulation.accounts import NotASimulatedAccount, simulated_accounts
from classroom.simulation.behaviours import BEHAVIOURS, BY_NAME
from classroom.simulation.feeds import Base64JsonFeed, Feed, JpegFeed, MeasurementFeed
from classroom.simulation.load import Account, LoadPlan, http_base, run_class, wait_for_server
from classroom.views import JPEG_QUALITY

MIXED = "mixed"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--class", dest="code", help="The class's join code (required, unless --naive).")
        parser.add_argument("--students", type=int, default=len(BEHAVIOURS),
                            help=f"How many students (default {len(BEHAVIOURS)}: one of each behaviour).")
        parser.add_argument("--fps", type=float, default=settings.SMARTSESSION_MAX_FPS,
                            help="Frames a second per student; in closed loop, the cap (default SMARTSESSION_MAX_FPS).")
        parser.add_argument("--seconds", type=float, default=30.0, help="How long; 0 runs until Ctrl-C (default 30).")
        parser.add_argument("--url", default=f"http://127.0.0.1:{os.getenv('PORT', '8000')}",
                            help="The server (default http://127.0.0.1:$PORT, PORT defaulting to 8000).")
        parser.add_argument("--teachers", type=int, default=1, help="Teacher sockets watching the class (default 1).")
        parser.add_argument("--closed-loop", action="store_true",
                            help="Pace like the student page: the next frame when the last one's feedback came.")
        parser.add_argument("--behaviour", choices=[MIXED, *BY_NAME], default=MIXED,
                            help="What every student does; mixed (the default) gives them the behaviours in turn.")
        parser.add_argument("--on-device", action="store_true",
                            help="Send what the page sends in on-device mode: face measurements, not frames.")
        parser.add_argument("--naive", metavar="URL",
                            help="Drive the naive reference server (bench/naive_server.py) at URL instead of a class: "
                                 "base64 JSON frames, no accounts, no teachers.")
        parser.add_argument("--server-pid", type=int, help="The local server process, to report its CPU and memory.")
        parser.add_argument("--progress-every", type=float, default=5.0, help="Seconds between progress lines.")
        parser.add_argument("--wait-for-server", type=float, default=0, metavar="SECONDS",
                            help="First wait up to this long for the server to answer (make demo starts both).")
        parser.add_argument("--prefix", default="sim", help="Usernames of the simulated students (default sim01...).")
        parser.add_argument("--json", dest="as_json", action="store_true", help="The final report as JSON.")

    def handle(self, *args, **options) -> None:
        if options["students"] < 1:
            raise CommandError("--students must be 1 or more.")
        if not 0 < options["fps"] <= 30:
            raise CommandError("--fps must be more than 0 and at most 30.")
        if options["seconds"] < 0 or options["teachers"] < 0 or options["progress_every"] <= 0:
            raise CommandError("--seconds and --teachers must be 0 or more, --progress-every more than 0.")
        if (options["code"] is None) == (options["naive"] is None):
            raise CommandError("Give either --class CODE (our server) or --naive URL (the naive reference server).")
        if options["naive"] is not None and options["on_device"]:
            raise CommandError("The naive reference server takes frames only, not --on-device measurements.")
        url = options["naive"] or options["url"]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
            option = "--naive" if options["naive"] is not None else "--url"
            raise CommandError(f"{option} must be like http://127.0.0.1:8000, not {url!r}.")
        if options["wait_for_server"] and not wait_for_server(url, seconds=options["wait_for_server"]):
            raise CommandError(
                f"No server answered at {http_base(url)}/healthz within {options['wait_for_server']:g} s."
            )
        if options["naive"] is not None:
            self.run_naive(url, options)
            return
        code = options["code"]
        classroom = Classroom.objects.select_related("teacher").filter(join_code=normalize_join_code(code)).first()
        if classroom is None:
            raise CommandError(f"No class has the code {code!r} in this database; run with the server's DATABASE_URL.")
        # Issue 13's class setting: a class analyses frames on the server, or measurements from the devices.
        if options["on_device"] and not classroom.on_device:
            raise CommandError(f"Class {classroom.join_code} analyses camera frames on the server and refuses "
                               f"measurements: turn on analysis on the students' devices in its settings, or drop "
                               f"--on-device.")
        if not options["on_device"] and classroom.on_device and not classroom.frame_fallback:
            raise CommandError(f"Class {classroom.join_code} analyses on the students' devices and takes no frames: "
                               f"add --on-device.")
        try:
            accounts = simulated_accounts(classroom=classroom, students=options["students"], prefix=options["prefix"])
        except NotASimulatedAccount as error:
            raise CommandError(str(error)) from error
        try:
            plan = self.plan(options, url=url, code=classroom.join_code, teacher_token=accounts.teacher_token,
                             teachers=options["teachers"],
                             students=[Account(username, token) for username, token in accounts.student_tokens])
            report = asyncio.run(run_class(plan, self.feed_for(plan, options), write_progress=self.stderr.write))
        finally:
            accounts.delete_made_tokens()
        self.write_report(report, options)

    def run_naive(self, url: str, options: dict) -> None:
        """The naive reference server knows no accounts or classes: its students only send frames, unauthenticated."""
        width = max(2, len(str(options["students"])))
        plan = self.plan(options, url=url, code="naive", teacher_token="", teachers=0,
                         students=[Account(f"{options['prefix']}{number:0{width}d}", "")
                                   for number in range(1, options["students"] + 1)])
        self.write_report(asyncio.run(run_class(plan, self.feed_for(plan, options), write_progress=self.stderr.write)),
                          options)

    @staticmethod
    def plan(options: dict, **given) -> LoadPlan:
        return LoadPlan(
            fps=options["fps"],
            seconds=options["seconds"] or None,
            closed_loop=options["closed_loop"],
            only_behaviour=None if options["behaviour"] == MIXED else BY_NAME[options["behaviour"]],
            progress_every_s=options["progress_every"],
            server_pid=options["server_pid"],
            **given,
        )

    def write_report(self, report, options: dict) -> None:
        self.stdout.write(json.dumps(report.to_dict(), indent=2) if options["as_json"] else report.text())
        if problems := report.problems():
            raise CommandError(
                f"{len(problems)} socket(s) could not open, or the server closed them (PROBLEM lines above). Is the "
                f"server running at {report.url}, with this DATABASE_URL, and is the host in its ALLOWED_HOSTS?"
            )

    def feed_for(self, plan: LoadPlan, options: dict) -> Feed:
        """Every picture the students will show, prepared once as the page (or the naive client) would send it."""
        behaviours = [plan.behaviour_of(number)[0] for number in range(len(plan.students))]
        for account, behaviour in zip(plan.students, behaviours):
            self.stderr.write(f"  {account.username}: {behaviour.name}, {behaviour.description}")
        frames = set().union(*(behaviour.frames() for behaviour in behaviours))
        width = settings.SMARTSESSION_FRAME_WIDTH
        if options["on_device"]:
            self.stderr.write(f"Measuring the faces in {len(frames)} pictures of the demo clip (width {width}), as "
                              f"the page's own model would ...")
            feed = MeasurementFeed(frames, width=width)
        else:
            self.stderr.write(f"Encoding the demo clip's frames (width {width}, JPEG quality {JPEG_QUALITY}) ...")
            feed = JpegFeed(frames, width=width, quality=JPEG_QUALITY)
            if options["naive"] is not None:
                feed = Base64JsonFeed(feed)
        until = f"for {plan.seconds:g} s" if plan.seconds else "until Ctrl-C"
        self.stderr.write(f"Streaming {feed.sends} to {plan.socket_url('student')} {until}")
        return feed
