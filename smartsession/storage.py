"""How collectstatic writes the static files a production server serves."""

from __future__ import annotations

from servestatic.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Content-hashed names and gzip copies; `import ... from "./x.js"` in our ES modules points at hashed names too.

    Without the import rewriting, a page would load a hashed student.js that imports an unhashed states.js,
    which a browser could keep from an older release for as long as the cache allows.
    """

    support_js_module_import_aggregation = True
