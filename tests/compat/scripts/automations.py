"""The official client's automations against Cairn: run by wandb's own python.

Usage: ``python automations.py <workdir> <project> <organization>``. Finds the
organization's webhook integration ``deploy``, creates an automation "when a version is
linked to the ``model`` registry with the alias ``production``, send it", logs a model
and links it there with that alias, lists and edits the automation; prints
``RESULT {...}``.
"""

import json
import pathlib
import sys

import wandb
from wandb.automations import ArtifactEvent, OnLinkArtifact, SendWebhook

work = pathlib.Path(sys.argv[1])
project = sys.argv[2]
organization = sys.argv[3]
work.mkdir(parents=True, exist_ok=True)

api = wandb.Api()
hook = next(h for h in api.webhook_integrations(entity=organization) if h.name == "deploy")
registry = api.registry("model")
payload = {
    "event": "${event_type}",
    "author": "${event_author}",
    "version": "${artifact_version_string}",
    "collection": "${artifact_collection_name}",
}
event = OnLinkArtifact(scope=registry, filter=ArtifactEvent.alias.eq("production"))
automation = api.create_automation(
    event >> SendWebhook.from_integration(hook, payload=payload),
    name="deploy-on-link",
    description="deploy what is linked as production",
)

(work / "model.txt").write_text("weights\n")
run = wandb.init(project=project, job_type="train")
model = wandb.Artifact("clf", type="model")
model.add_file(str(work / "model.txt"))
run.log_artifact(model)
model.wait()
run.link_artifact(model, f"{organization}/wandb-registry-model/clf", aliases=["staging"])
run.finish()
linked = api.artifact(f"{organization}/wandb-registry-model/clf:v0")
unfiltered_link = linked.qualified_name

# a second version, linked with the alias the automation waits for
run = wandb.init(project=project, job_type="train")
(work / "model.txt").write_text("better weights\n")
model = wandb.Artifact("clf", type="model")
model.add_file(str(work / "model.txt"))
run.log_artifact(model)
model.wait()
run.link_artifact(model, f"{organization}/wandb-registry-model/clf", aliases=["production"])
run.finish()

listed = [a.name for a in api.automations(entity=organization)]
found = api.automation(name="deploy-on-link", entity=organization)
updated = api.update_automation(found, description="edited")
result = {
    "created": automation.name,
    "scope": automation.scope.name,
    "event": str(automation.event.event_type.value),
    "listed": listed,
    "description": updated.description,
    "enabled": updated.enabled,
    "unfiltered_link": unfiltered_link,
}
print("RESULT " + json.dumps(result))
