from payments.models.sale import *  # noqa: F403
from payments.models.sale import _EXTERNAL_ID  # noqa: F401
