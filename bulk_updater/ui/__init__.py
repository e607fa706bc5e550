"""`bulk-updater ui`: the whole job in a local web page, on the same library as the CLI.

    guard.py       who may ask: the token, the cookie, Host and Origin
    workspace.py   uploads and run folders on disk
    connection.py  host and keys, in memory only
    options.py     the sending options and their defaults
    jobs.py        job threads and their progress
    app.py         the routes and pages
    server.py      start and stop
"""

from .server import UiThread, serve

__all__ = ["UiThread", "serve"]
