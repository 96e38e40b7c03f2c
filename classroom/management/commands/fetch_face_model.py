from pathlib import Path
from urllib.error import URLError

from django.core.management.base import BaseCommand, CommandError

from vision.model import DEFAULT_FETCH_PATH, MODEL_URL, ModelError, fetch_model


class Command(BaseCommand):
    help = "Download MediaPipe's face_landmarker.task, verify its checksum and save it where the vision engine looks."

    def add_arguments(self, parser) -> None:
        # --url lets a site without access to Google's storage use its own mirror; the checksum still decides.
        parser.add_argument("--url", default=MODEL_URL, help=f"where to download from (default: {MODEL_URL})")
        parser.add_argument(
            "--destination", type=Path, default=DEFAULT_FETCH_PATH, help=f"where to save (default: {DEFAULT_FETCH_PATH}, where the vision engine looks; "
            "anywhere else needs SMARTSESSION_FACE_MODEL pointing at it)"
        )

    def handle(self, *args, url: str, destination: Path, **options) -> None:
        try:
            saved = fetch_model(destination=destination, url=url)
        except ModelError as error:
            raise CommandError(str(error)) from None
        except (URLError, OSError) as error:
            raise CommandError(f"Could not download the face model from {url}: {error}") from None
        self.stdout.write(f"Face model saved to {saved}")
