"""Where a Cairn server keeps its blobs: a directory or an S3-compatible bucket, behind one
interface (``interface.ServerStore``, whose capability methods say what a store can do),
and what its maintenance jobs need of them (``maintenance``). Only the code that opens a
store from ``--store`` names ``directory.DirectoryServerStore`` or ``s3.S3ServerStore``."""
