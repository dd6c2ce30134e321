"""The HTTP API (接口): FastAPI over the ``Cases`` application. Build it with ``create_app``."""
