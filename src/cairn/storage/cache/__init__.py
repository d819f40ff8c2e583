"""The client cache under ``$CAIRN_CACHE_DIR``: downloaded bytes with a byte cap (LRU), its
packs of small blobs, and the cleanup of staged copies drafts left behind."""
