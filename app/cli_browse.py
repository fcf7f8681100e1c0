"""`pledges demo synth`: fill a database with a large synthetic dataset."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from app import db
from app.cli import _engine, _settings, _upgrade


def synth(
    commitments: Annotated[
        int, typer.Option(min=1, max=5_000_000, help="How many commitments to generate.")
    ] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 1,
) -> None:
    """Add N realistic, deterministic synthetic commitments (with actors, sources, flows, reviews,
    citations, indicators, tags and some drafts) for benchmarks and browsing at scale."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from app.services.synth import generate

    engine = _engine(_settings())
    _upgrade(engine)
    started = time.monotonic()
    factory = db.make_session_factory(engine)
    with (
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        ) as progress,
        db.unit_of_work(factory) as session,
    ):
        task = progress.add_task("commitments", total=commitments)
        result = generate(
            session,
            commitments,
            seed=seed,
            progress=lambda n: progress.advance(task, n),
        )
    typer.echo(
        f"added {result.commitments} commitments, {result.money_flows} money flows, "
        f"{result.reviews} reviews, {result.citations} citations, {result.sources} sources, "
        f"{result.actors} actors, {result.indicators} indicators "
        f"in {time.monotonic() - started:.1f} s",
        err=True,
    )
