"""Run the dataset pipeline over a series folder, resumably.

Each episode goes through the configured steps in order (standardise, diarize,
attribute, transcribe, scenes, postprocess); each step's result is cached under
a key of its inputs and config (``audiorole.prep.cache``), so a rerun, after a
crash or a config change, redoes only unfinished or affected work. A failing
episode is recorded in ``failures.jsonl`` and the run goes on with the rest.
Finally the kept replies of all episodes are written as manifests and stats.
"""

import logging
import multiprocessing
import os
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audiorole.data.series import SeriesFolder, unreadable_enrollment
from audiorole.errors import AudioroleError, SeriesError
from audiorole.prep.cache import SERIES_INPUTS, digest, file_identity, series_inputs, step_dir
from audiorole.prep.context import EpisodeContext
from audiorole.prep.progress import progress_bar
from audiorole.prep.workers import resolve_workers

log = logging.getLogger(__name__)


@dataclass
class PrepareResult:
    out_dir: Path
    episodes: int
    failures: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    steps_done: tuple[str, ...] = ()
    results: dict[str, dict[str, dict]] = field(default_factory=dict)  # episode -> step -> result
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds spent this run
    stats: dict = field(default_factory=dict)  # filled by finalize (stats.json)
    tokens_dir: Path | None = None  # the token cache, when a tokenizer was given

    @property
    def ok(self) -> bool:
        return not self.failures


def shard_of(items: list, index: int, count: int) -> list:
    """Every ``count``-th item starting at ``index``: shards of similar size, stable under reruns."""
    if count < 1 or not 0 <= index < count:
        raise SeriesError(f"bad shard: index {index} of count {count}; need 0 <= shard.index < shard.count")
    return items[index::count]


class LazySteps:
    """Step objects built from config on first use, so a fully cached run loads no model."""

    def __init__(self, configs: Mapping[str, Any], build):
        self.configs = configs
        self._build = build
        self._built: dict[str, Any] = {}

    def reads(self, name: str) -> tuple[str, ...]:
        """The series inputs a step declares it reads (class attribute ``reads``), without building it.

        A step whose class is unknown or declares nothing is assumed to read them all."""
        cfg = self.configs[name]
        target = cfg.get("_target_") if isinstance(cfg, Mapping) else None
        if target is None:
            return SERIES_INPUTS
        from hydra.utils import get_class

        return tuple(getattr(get_class(target), "reads", SERIES_INPUTS))

    def get(self, name: str):
        if name not in self._built:
            self._built[name] = self._build(self.configs[name])
        return self._built[name]


def _plain(cfg: Any) -> Any:
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(cfg, (DictConfig, ListConfig)):
            return OmegaConf.to_container(cfg, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    return cfg


def _build(cfg: Any):
    import hydra

    return hydra.utils.instantiate(cfg, _convert_="partial")


def run_episode(ctx: EpisodeContext, order: list[str], steps: LazySteps, timings: dict[str, float],
                on_step=lambda name: None) -> dict[str, dict]:
    """Run (or reuse) every step for one episode; raises on the first failing step."""
    upstream = digest(file_identity(ctx.episode.audio))
    inputs = series_inputs(ctx.series, ctx.episode)
    for name in order:
        cfg = _plain(steps.configs[name])
        read = {k: inputs[k] for k in steps.reads(name)}
        where = step_dir(ctx.work_dir, name, ctx.episode.id, digest(name, cfg, upstream, read))
        if where.done:
            ctx.results[name] = where.result()
        else:
            on_step(name)
            start = time.perf_counter()
            out = where.begin()
            try:
                ctx.results[name] = where.finish(steps.get(name)(ctx, out))
            except BaseException as exc:
                exc.step = name  # type: ignore[attr-defined]
                raise
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        upstream = where.key
    return ctx.results


@dataclass
class EpisodeOutcome:
    episode: str
    results: dict | None
    failure: dict | None
    warnings: list[dict]
    timings: dict[str, float]


def process_episode(series, episode, work_dir: Path, shared_inputs: dict, order: list[str], steps: LazySteps,
                    on_step=lambda name: None) -> EpisodeOutcome:
    """Run one episode; a failure is recorded, never raised, so the batch goes on."""
    ctx = EpisodeContext(series, episode, work_dir, shared=shared_inputs)
    timings: dict[str, float] = {}
    results = failure = None
    try:
        results = run_episode(ctx, order, steps, timings, on_step=on_step)
    except AudioroleError as exc:
        failure = {"file": str(episode.audio), "step": getattr(exc, "step", "?"), "error": str(exc)}
    except Exception as exc:  # a bug or a backend crash: keep its traceback, go on with the rest
        log.debug("".join(traceback.format_exception(exc)))
        failure = {"file": str(episode.audio), "step": getattr(exc, "step", "?"), "error": f"{type(exc).__name__}: {exc}"}
    # A step's non-fatal notes (e.g. clipped audio) live in its cached result: reported on every run.
    warnings = [{"file": str(episode.audio), "step": name, "warning": w}
                for name, res in ctx.results.items() for w in res.get("warnings", ())]
    return EpisodeOutcome(episode.id, results, failure, warnings, timings)


_WORKER_STEPS: LazySteps | None = None


def _init_worker(steps, build, threads: int) -> None:
    global _WORKER_STEPS
    import torch

    torch.set_num_threads(threads)  # share the cores instead of oversubscribing them
    _WORKER_STEPS = LazySteps(steps, build)


def _worker_episode(series, episode, work_dir, shared_inputs, order) -> EpisodeOutcome:
    return process_episode(series, episode, work_dir, shared_inputs, order, _WORKER_STEPS)


def prepare(series_dir: str | Path, out_dir: str | Path, steps: Mapping[str, Any] | None = None,
            order: list[str] | None = None, character: str | None = None, shard_index: int = 0,
            shard_count: int = 1, shared=None, finalize=None, build=_build, workers: int | str = 1) -> PrepareResult:
    """Prepare a series. ``steps`` maps step name -> config with ``_target_`` (``None`` skips a step).

    ``shared(series, work_dir)`` computes series-level inputs (voiceprints) once;
    ``finalize(series, result, out_dir)`` writes manifests and reports.
    ``workers > 1`` processes episodes in parallel processes (same results); ``"auto"`` picks
    the number from cores and memory (``audiorole.prep.workers``).
    """
    series = SeriesFolder.load(series_dir)
    if character is not None:
        series.registry.get(character, series.root / "characters.yaml")
    out_dir = Path(out_dir)
    work_dir = out_dir / "work"
    steps = {k: v for k, v in (steps or {}).items() if v is not None}
    order = [name for name in (order or list(steps)) if name in steps]
    episodes = shard_of(series.episodes, shard_index, shard_count)
    workers = resolve_workers(workers, len(episodes))
    result = PrepareResult(out_dir, len(episodes), steps_done=tuple(order))
    problems = series.problems + unreadable_enrollment(series)
    result.failures = [{"file": str(p.file), "step": "series", "error": p.message} for p in problems]
    shared_inputs = shared(series, work_dir) if shared else {}

    with progress_bar() as progress:
        task = progress.add_task("episodes", total=len(episodes))

        def collect(outcome: EpisodeOutcome) -> None:
            if outcome.results is not None:
                result.results[outcome.episode] = outcome.results
            if outcome.failure:
                result.failures.append(outcome.failure)
            result.warnings += outcome.warnings
            for name, seconds in outcome.timings.items():
                result.timings[name] = result.timings.get(name, 0.0) + seconds
            progress.advance(task)

        if workers <= 1 or len(episodes) <= 1:
            lazy = LazySteps(steps, build)
            for episode in episodes:
                progress.update(task, description=episode.id)
                collect(process_episode(series, episode, work_dir, shared_inputs, order, lazy,
                                        on_step=lambda name, ep=episode.id: progress.update(task, description=f"{ep}: {name}")))
        else:
            # Episodes are independent: one process each, models loaded once per process.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                     initargs=(steps, build, max(1, (os.cpu_count() or 1) // workers))) as pool:
                progress.update(task, description=f"{workers} workers")
                futures = [pool.submit(_worker_episode, series, episode, work_dir, shared_inputs, order) for episode in episodes]
                for future in as_completed(futures):
                    collect(future.result())

    for failure in result.failures:
        log.error("%s [%s]: %s", failure["file"], failure["step"], failure["error"])
    if finalize:
        finalize(series, result, out_dir)  # may add warnings (an episode with no reply)
    for warning in result.warnings:
        log.warning("%s [%s]: %s", warning["file"], warning["step"], warning["warning"])
    return result
