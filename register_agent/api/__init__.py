"""The local API for the POS software: FastAPI on uvicorn, in the agent's own process, on
loopback or a unix socket, bearer token always required.

``make_app(till, events, token)`` builds the app over the till; ``LocalApiServer(app,
listen)`` serves it (``await start()`` returns once it listens, ``await stop()``);
``local_api_token(config.local_api, config.state.directory)`` is the token to require::

    token = local_api_token(config.local_api, config.state.directory)
    server = LocalApiServer(make_app(till, events, token), config.local_api.listen)
    await server.start()  # raises ConfigError when the address cannot be used
    notifier.ready()      # READY=1: the API listens
    ...
    await server.stop()   # first to stop: event streams end, requests finish (bounded)
"""

from register_agent.api.app import DOCS_PATHS, make_app
from register_agent.api.auth import TOKEN_FILE, local_api_token
from register_agent.api.server import Listen, LocalApiServer, parse_listen

__all__ = [
    "DOCS_PATHS",
    "TOKEN_FILE",
    "Listen",
    "LocalApiServer",
    "local_api_token",
    "make_app",
    "parse_listen",
]
