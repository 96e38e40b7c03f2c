import os
import sys

# MediaPipe's C++ logging (glog/absl) would otherwise fill stderr with start-up chatter on every run.
os.environ.setdefault("GLOG_minloglevel", "2")

from .cli import main  # noqa: E402

sys.exit(main())
