from django.core.management.base import BaseCommand, CommandError

from vision.model import MODEL_SHA256, ModelError, candidate_paths, load_model_bytes


class Command(BaseCommand):
    help = "Find the face model the vision engine will load, verify its checksum, and say where it came from."

    def handle(self, *args, **options) -> None:
        try:
            data = load_model_bytes()
        except ModelError as error:
            # CommandError: the message goes to stderr and the exit status is 1, so `make setup` stops here.
            raise CommandError(str(error)) from None
        # load_model_bytes reads the first candidate that is a file; name that one.
        label, path = next((label, path) for label, path in candidate_paths() if path.is_file())
        self.stdout.write(f"Face model OK: {path} (from {label}), {len(data)} bytes, sha256 {MODEL_SHA256}")
