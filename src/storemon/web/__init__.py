"""The dashboard: one static page (vanilla JS + SVG) served by the API app.

It only calls the public HTTP API, like any other client; no build step.
"""

from storemon.web.routes import router

__all__ = ["router"]
