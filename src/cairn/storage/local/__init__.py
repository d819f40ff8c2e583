"""The local blob area: the embedded store's loose blobs and packs, folder snapshots, the stat
cache, and the file operations they share (durable batches, links, bulk export). The remote
backend uses it too, for the client's staging area."""
