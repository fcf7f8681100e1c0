"""The application factory. Nothing is built at import time."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from app import db, openapi
from app.api import records as api_records
from app.api import reports as api_reports
from app.api import v1 as api_v1
from app.clock import Clock, SystemClock
from app.config import Settings
from app.http import errors
from app.web import (
    account_tokens,
    accounts,
    apidocs,
    auth,
    browse,
    changes,
    editing,
    exports,
    funding,
    imports,
    pages,
    reviews,
)
from app.web.limits import BodyLimitMiddleware
from app.web.templating import make_templates


def create_app(
    settings: Settings, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the app for these settings. Tests pass their own engine and clock."""
    app = FastAPI(
        title="Pledge Tracker",
        summary="A faithful, sourced record of public commitments and pledged money.",
        version="0.1.0",
        # /docs is rendered by app.web.apidocs, from the vendored files: no CDN.
        docs_url=None,
        redoc_url=None,
    )
    engine = engine or db.engine_for(settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = db.make_session_factory(engine)
    app.state.clock = clock or SystemClock()
    app.state.templates = make_templates(settings)

    app.mount("/static", StaticFiles(directory=db.PACKAGE_DIR / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(browse.router)
    app.include_router(funding.router)
    app.include_router(reviews.router)
    app.include_router(changes.router)
    app.include_router(exports.router)
    app.include_router(imports.router)
    app.include_router(accounts.router)
    app.include_router(account_tokens.router)
    app.include_router(editing.router)
    app.include_router(api_v1.router)
    app.include_router(api_records.router)
    app.include_router(api_reports.router)
    app.include_router(apidocs.router)
    errors.install(app)
    auth.install(app)
    # Added last, so outermost: an oversized body is refused before the CSRF
    # middleware buffers it.
    app.add_middleware(BodyLimitMiddleware, upload_paths=("/import",))
    openapi.install(app)
    return app
