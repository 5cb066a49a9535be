"""Photobox settings: every value comes from the environment (and a `.env` file if present).

`DJANGO_SETTINGS_MODULE=photobox.settings` loads them all, one file per concern, in this order
(a later file may use what an earlier one set):

- base.py: the project itself: apps, middleware, templates, languages, static files; DEBUG
- security.py: the secret key, hosts, HTTPS, the admin lockout, client addresses, response encryption
- database.py: the database and the cache
- photobox.py: the product's own knobs: kiosk keys, rate limits, sales, photos, the demo kiosk
- services.py: the outside services: Xendit (payments), Cloudinary (photos), email
- api.py: DRF, the OpenAPI schema and its readers, CORS
- logging.py: the log lines

Every variable is read and checked by core/env.py, the one place that does it: a bad value
stops start-up with one line naming the variable. The variable names of the earlier FastAPI
service's `.env` are accepted unchanged, so an existing deployment's environment keeps working.
`.env.example` documents every variable.
"""

# In the order above, not sorted: a start-up with several bad values names the first one found.
from photobox.settings.base import *  # noqa: F403, I001
from photobox.settings.security import *  # noqa: F403
from photobox.settings.database import *  # noqa: F403
from photobox.settings.photobox import *  # noqa: F403
from photobox.settings.services import *  # noqa: F403
from photobox.settings.api import *  # noqa: F403
from photobox.settings.logging import *  # noqa: F403
