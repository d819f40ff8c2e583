"""Server mode's client: the Backend protocol over the Cairn server's REST API.

``cairn.connect`` opens ``cairn.remote.backend.RemoteBackend`` when a base URL is
configured; it is imported only then, so embedded use never loads httpx.
"""
