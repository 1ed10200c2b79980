"""The local API for the POS software: FastAPI on uvicorn, in the agent's own process, on
loopback or a unix socket, bearer token always required.

``make_app(till, events, token)`` builds the app over the till; ``LocalApiServer(app,
listen)`` serves it (``await start()`` returns once it listens, ``await stop()``);
``local_api_token(config.local_api, config.state.directory)`` is the token to require::

    token = local_api_token(config.local_api, config.state.directory)
    app = make_app(till, events, token, browser=browser_access(config.local_api))
    server = LocalApiServer.for_config(app, config.local_api)  # https when tls_* are set
    await server.start()  # raises ConfigError when the address cannot be used
    notifier.ready()      # READY=1: the API listens
    ...
    await server.stop()   # first to stop: event streams end, requests finish (bounded)
"""

from register_agent.api.app import DOCS_PATHS, make_app
from register_agent.api.auth import TOKEN_FILE, local_api_token
from register_agent.api.server import Listen, LocalApiServer, parse_listen
from register_agent.api.session import BrowserAccess, browser_access

__all__ = [
    "DOCS_PATHS",
    "TOKEN_FILE",
    "BrowserAccess",
    "Listen",
    "LocalApiServer",
    "browser_access",
    "local_api_token",
    "make_app",
    "parse_listen",
]
