"""Where a Cairn server keeps its blobs: a directory or an S3-compatible bucket, behind one
interface, and what its maintenance jobs need of them."""
