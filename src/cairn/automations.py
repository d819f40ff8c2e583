"""``cairn.automations`` (as ``wandb.automations``): see ``cairn.sdk.automations``."""

from cairn.sdk.automations import *  # noqa: F403
from cairn.sdk.automations import __all__  # noqa: F401
