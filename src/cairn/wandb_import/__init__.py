"""``cairn import wandb``: copy a W&B project's artifacts into Cairn.

wandb code runs in one place only, ``wandb_exporter.py``, as a subprocess with an
environment of its own (``runner``); nothing in Cairn imports it. Its JSON lines are read
into records (``export_records``) and offered to the replication engine as a source
(``source.WandbSource``), which writes them into the destination as ``cairn sync`` does.
"""
