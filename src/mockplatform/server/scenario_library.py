"""The scenarios a running mock knows: shipped ones, a team's own, reloaded when edited.

Files are re-read when their modification time changes, checked at most once per
`reload_interval` seconds, on the request path (no background task, so it works the same
under any server). An edit that breaks a file is logged and the last good version stays in
use: a typo never takes the mock down mid-session.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from mockplatform.core.errors import ConfigError, MockPlatformError
from mockplatform.core.spec import Spec
from mockplatform.server.scenario_loader import (
    SCHEMA_FILE,
    LoadedScenario,
    ScenarioError,
    default_scenarios_dir,
    read_scenario,
)
from mockplatform.server.scenarios import Scenario
from mockplatform.server.world import World

logger = logging.getLogger("mockplatform")

DEFAULT_SCENARIO = "default"


@dataclass
class _Entry:
    path: Path
    mtime: float
    scenario: Scenario


@dataclass
class ScenarioLibrary:
    spec: Spec
    base_world: World
    directories: list[Path]
    extra_files: list[Path] = field(default_factory=list)
    reload_interval: float = 1.0
    _entries: dict[str, _Entry] = field(default_factory=dict, init=False)
    _checked_at: float = field(default=0.0, init=False)

    def load_all(self) -> None:
        """Load every file, failing on the first bad one and then changing nothing.

        `default` is loaded first: every other scenario's world extends its world.
        """
        entries: dict[str, _Entry] = {}
        loaded: dict[str, LoadedScenario] = {}
        for path in sorted(self._files(), key=lambda p: p.stem != DEFAULT_SCENARIO):
            default = entries.get(DEFAULT_SCENARIO)
            base = default.scenario.world if default else self.base_world
            loaded[path.stem] = read_scenario(path, self.spec, base)
            entries[path.stem] = _Entry(path, path.stat().st_mtime, loaded[path.stem].scenario)
        for each in loaded.values():
            each.check_references(set(entries))
        self._entries = entries
        self._checked_at = time.monotonic()

    def world_base(self) -> World:
        """The default scenario's world, which every other scenario's world builds on."""
        default = self._entries.get(DEFAULT_SCENARIO)
        return default.scenario.world if default else self.base_world

    def refresh(self) -> None:
        """Pick up edited and new files; keep the last good version of a broken one."""
        now = time.monotonic()
        if now - self._checked_at < self.reload_interval:
            return
        self._checked_at = now
        for path in self._files():
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            entry = self._entries.get(path.stem)
            if entry is not None and entry.path == path and entry.mtime == mtime:
                continue
            try:
                if path.stem == DEFAULT_SCENARIO:  # every world extends it: reload them all
                    self.load_all()
                    logger.info("scenarios reloaded: %s changed", path)
                    return
                loaded = read_scenario(path, self.spec, self.world_base())
                loaded.check_references(set(self._entries))
                scenario = loaded.scenario
            except MockPlatformError as exc:
                logger.warning("scenario not reloaded, keeping the last good version: %s", exc)
                continue
            self._entries[path.stem] = _Entry(path, mtime, scenario)
            logger.info("scenario %s reloaded from %s", path.stem, path)

    def get(self, name: str) -> Scenario | None:
        entry = self._entries.get(name)
        return entry.scenario if entry else None

    def all(self) -> list[Scenario]:
        return [entry.scenario for entry in self._entries.values()]

    def add_file(self, path: Path) -> Scenario:
        """Load a scenario given by path (e.g. `--scenario ./mine.yaml`) and keep it reloaded."""
        loaded = read_scenario(path, self.spec, self.world_base())
        loaded.check_references(set(self._entries))
        scenario = loaded.scenario
        self.extra_files.append(path)
        self._entries[path.stem] = _Entry(path, path.stat().st_mtime, scenario)
        return scenario

    def _files(self) -> list[Path]:
        files = []
        for directory in self.directories:
            files.extend(sorted(p for p in directory.glob("*.yaml") if p.name != SCHEMA_FILE))
        return files + self.extra_files


def build_library(
    spec: Spec,
    base_world: World,
    *,
    scenarios_dirs: list[Path] | None = None,
    reload_interval: float = 1.0,
) -> ScenarioLibrary:
    """The shipped scenarios, then each of `scenarios_dirs` (a name there overrides)."""
    directories = [default_scenarios_dir(), *(scenarios_dirs or [])]
    for directory in directories:
        if not directory.is_dir():
            raise ConfigError(f"{directory}: no such scenarios directory")
    library = ScenarioLibrary(spec, base_world, directories, reload_interval=reload_interval)
    library.load_all()
    return library


def resolve_startup(library: ScenarioLibrary, name_or_path: str) -> Scenario:
    """`--scenario NAME_OR_PATH`: a known name, or a file to load and add."""
    scenario = library.get(name_or_path)
    if scenario is not None:
        return scenario
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ScenarioError(path, 1, 1, "", "no such scenario file")
        return library.add_file(path)
    known = ", ".join(sorted(s.name for s in library.all()))
    raise ConfigError(f"no scenario named {name_or_path!r} (known: {known})")
