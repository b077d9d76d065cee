"""An OpenAI-compatible server for a loaded EXAONE model (``exaone-serve``; the app's "serve on localhost").

    from exaone_desktop.server import start_background
    handle = start_background(generator)          # 127.0.0.1, a free port
    client = openai.OpenAI(base_url=handle.base_url, api_key="none")
    handle.stop()
"""

from .cli import ServerHandle, is_loopback, start_background
from .limits import LIMITS, ServerLimits
from .mapping import PARAMETERS, request_settings
from .routes import create_app
from .scheduler import QueueFull, Scheduler
from .service import ServerConfig

__all__ = ["LIMITS", "PARAMETERS", "QueueFull", "Scheduler", "ServerConfig", "ServerHandle", "ServerLimits",
           "create_app", "is_loopback", "request_settings", "start_background"]
