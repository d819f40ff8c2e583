"""The automations and projects part of ``cairn.Api`` (wandb's names): webhook
integrations, automations (``create_automation`` / ``automations`` / ``automation`` /
``update_automation`` / ``delete_automation``) and the projects they watch
(``project`` / ``projects``, usable as an automation's ``scope``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from cairn.core.names import validate_entity_name, validate_project_name
from cairn.errors import CommError, NotFoundError
from cairn.sdk.automations import Automation, NewAutomation, WebhookIntegration

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cairn.protocol import Backend

MAX_PROJECTS = 500  # what one listing of the store answers at most


@dataclasses.dataclass(frozen=True)
class Project:
    """A project of an entity (``Api().project(name, entity=)``), usable as a scope."""

    entity: str
    name: str
    created_at: str | None = None

    @property
    def path(self) -> list[str]:
        return [self.entity, self.name]

    @property
    def url(self) -> str:
        return f"{self.entity}/{self.name}"


class AutomationsApi:
    """Mixed into ``Api``: everything here goes through ``Backend.automations()``."""

    _backend: Backend
    _entity: str

    def project(self, name: str, entity: str | None = None) -> Project:
        """The project ``name`` of ``entity`` (default: the Api's)."""
        return Project(validate_entity_name(entity or self._entity), validate_project_name(name))

    def projects(self, entity: str | None = None, per_page: int = 200) -> list[Project]:
        """The projects of ``entity`` (default: the Api's) the caller may read."""
        owner = validate_entity_name(entity or self._entity)
        return [
            Project(p.entity, p.name, p.created_at)
            for p in self._backend.list_projects(owner, MAX_PROJECTS)
        ]

    def webhook_integrations(
        self, entity: str | None = None, *, per_page: int = 50
    ) -> Iterator[WebhookIntegration]:
        """The webhook integrations of ``entity`` (default: the Api's)."""
        found = self._backend.automations().list_webhooks(entity or self._entity)
        return iter([WebhookIntegration._from(info) for info in found])

    def integrations(
        self, entity: str | None = None, *, per_page: int = 50
    ) -> Iterator[WebhookIntegration]:
        """Every integration of ``entity``: Cairn has webhook integrations only."""
        return self.webhook_integrations(entity, per_page=per_page)

    def automations(
        self, entity: str | None = None, *, name: str | None = None, per_page: int = 50
    ) -> Iterator[Automation]:
        """The automations the caller may see (of ``entity``'s scopes, named ``name``)."""
        found = self._backend.automations().list_automations(entity, name)
        return iter([Automation._from(info) for info in found])

    def automation(self, name: str, *, entity: str | None = None) -> Automation:
        """The one automation named ``name``. Raises ValueError (none, or several)."""
        found = list(self.automations(entity, name=name))
        if not found:
            raise ValueError("No automations found")
        if len(found) > 1:
            raise ValueError("Multiple automations found")
        return found[0]

    def create_automation(
        self, obj: NewAutomation, *, fetch_existing: bool = False, **kwargs: Any
    ) -> Automation:
        """Save ``obj`` (``event >> action``; ``name``, ``description``, ``enabled``,
        ``scope``, ``event``, ``action`` in ``kwargs`` override its own).

        Raises: ValueError (bad input, or the name is taken and not ``fetch_existing``);
        CommError (a scope or integration the caller may not use).
        """
        spec = obj._spec(**kwargs)
        try:
            made = self._backend.automations().create_automation(spec)
        except NotFoundError:
            raise
        except CommError as exc:
            if "exists" not in str(exc):
                raise
            if fetch_existing:
                return self.automation(spec.name, entity=spec.entity)
            raise ValueError(
                f"Automation {spec.name!r} exists. Unable to create another with the same name."
            ) from None
        return Automation._from(made)

    def update_automation(
        self, obj: Automation, *, create_missing: bool = False, **kwargs: Any
    ) -> Automation:
        """Save the edited ``obj`` (``kwargs`` as for ``create_automation``).

        Raises: ValueError (it does not exist and not ``create_missing``; bad input).
        """
        spec = obj._spec(**kwargs)
        try:
            changed = self._backend.automations().update_automation(obj.id, spec)
        except NotFoundError:
            if create_missing:
                return self.create_automation(obj, **kwargs)
            raise ValueError(f"Automation {spec.name!r} not found. Unable to edit it.") from None
        return Automation._from(changed)

    def delete_automation(self, obj: Automation | str) -> bool:
        """Delete an automation (or the one with this id) and its delivery log."""
        self._backend.automations().delete_automation(obj if isinstance(obj, str) else obj.id)
        return True
