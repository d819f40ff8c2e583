"""The Cairn server: FastAPI app (``app.create_app``), REST routes, auth, signed URLs.

Never imported by ``import cairn``; ``cairn server`` and tests import it.
"""
