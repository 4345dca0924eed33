"""The dashboard: a thin FastAPI face over the library (see :func:`digimeter.web.app.create_app`)."""
