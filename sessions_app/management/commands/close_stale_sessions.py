from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.services import close_stale_sessions


class Command(BaseCommand):
    help = (
        "End the sessions left active (a crashed server, a closed laptop) with no sample for a while. "
        "Each ends at its last sample, so the idle time counts nowhere. Safe to run from cron every few minutes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        default = settings.SMARTSESSION_STALE_AFTER_SECONDS / 60
        parser.add_argument("--idle-minutes", type=float, default=default,
                            help=f"End sessions with no sample for this long (default {default:g}).")

    def handle(self, *args, idle_minutes: float, **options) -> None:
        if idle_minutes <= 0:
            raise CommandError(f"--idle-minutes must be more than 0, not {idle_minutes:g}.")
        ended = close_stale_sessions(idle_for=timedelta(minutes=idle_minutes))
        self.stdout.write(f"Ended {ended} stale session{'' if ended == 1 else 's'}.")
