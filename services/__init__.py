"""The alumni platform's services."""

import warnings

# nameko 2.x runs on eventlet; its deprecation notice is known and tells operators nothing.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
