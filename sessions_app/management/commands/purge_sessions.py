from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.services import purge_sessions


class Command(BaseCommand):
    help = (
        "Delete the sessions that ended more than DAYS ago, with their samples. Active sessions are kept; "
        "run close_stale_sessions first to end abandoned ones."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            default=None,
            help="Retention in days (default: SMARTSESSION_RETENTION_DAYS, now "
            f"{settings.SMARTSESSION_RETENTION_DAYS}).",
        )

    def handle(self, *args, older_than: int | None, **options) -> None:
        days = settings.SMARTSESSION_RETENTION_DAYS if older_than is None else older_than
        if days < 0:
            raise CommandError(f"--older-than must be 0 or more days, not {days}.")
        deleted = purge_sessions(older_than_days=days)
        self.stdout.write(f"Deleted {deleted} session{'' if deleted == 1 else 's'} that ended more than {days} days ago.")
