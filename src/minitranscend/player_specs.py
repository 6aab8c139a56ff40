"""Player specs: one registry of player kinds, one spec-string format, one naming function.

A *spec* is a picklable recipe for a player (engine processes and models cannot be pickled, so
worker processes build their players from specs). Every route (matches, the ladder, the reward
command, the experiment) parses, writes and names players here:

* :data:`KINDS` — the registry: ``random``, ``stockfish``, ``expert``, ``model``. Each kind has a
  config dataclass whose **field names are the spec keys** (``skill_level``, ``blind_spot``,
  ``avoid_draws``, ...) and a builder. :func:`register` adds a kind.
* :class:`PlayerSpec` — ``PlayerSpec.parse("stockfish:skill_level=3,nodes=200")``; ``str(spec)``
  writes the canonical text back (keys in config-field order), which goes into PGN headers and
  result files so that a result names exactly what produced it (keys in the order given:
  spec texts already recorded in match folders and PGN headers stay byte-identical). Values are checked when the spec
  is made, not when the player is built in a worker: booleans strictly (``true``/``false``),
  ranges (``tau`` finite and >= 0, ``nodes`` > 0, ``skill_level`` 0..20, probabilities in
  [0, 1]); a bad value raises ValueError naming the key and what it allows.
* :func:`player_label` / :func:`model_label` — the display name of a player, the one used in
  games, ratings, folders and tables: the spec's ``name`` when it has one, else derived from
  its settings; a model at a temperature is ``<prefix>-tau<tau>`` (e.g. ``model-A-tau0.001``).
"""
from __future__ import annotations

import math
import os
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

from .engine import SearchLimit
from .players import Expert, ExpertConfig, PIECE_NAMES, Player, RandomPlayer, StockfishPlayer, \
    default_experts


# -- the kinds' configs (field names = spec keys) --------------------------------------------
@dataclass(frozen=True)
class RandomConfig:
    """A uniformly random mover."""

    seed: int = 0


@dataclass(frozen=True)
class StockfishConfig:
    """Stockfish at a search limit (no limit given: 1000 nodes) and optional Skill Level."""

    nodes: int | None = None
    depth: int | None = None
    time: float | None = None  # seconds per move
    skill_level: int | None = None
    threads: int = 1
    hash_mb: int = 16


@dataclass(frozen=True)
class ModelConfig:
    """A checkpoint played by :class:`~minitranscend.policy.ModelPlayer` (same argument names)."""

    tau: float = 1.0
    seed: int = 0
    mode: str = "move"
    max_chars: int = 10
    retries: int = 5
    avoid_draws: bool = False


# -- value checks ------------------------------------------------------------------------------
def _probability(v: float) -> bool:
    return 0.0 <= v <= 1.0


CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "tau": (lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0"),
    "nodes": (lambda v: v > 0, "an integer > 0"),
    "depth": (lambda v: v > 0, "an integer > 0"),
    "time": (lambda v: math.isfinite(v) and v > 0, "a number of seconds > 0"),
    "movetime": (lambda v: math.isfinite(v) and v > 0, "a number of seconds > 0"),
    "skill_level": (lambda v: 0 <= v <= 20, "an integer in 0..20"),
    "threads": (lambda v: v >= 1, "an integer >= 1"),
    "hash_mb": (lambda v: v >= 1, "an integer >= 1 (MB)"),
    "eps": (_probability, "a probability in [0, 1]"),
    "habit_rate": (_probability, "a probability in [0, 1]"),
    "blind_spot": (lambda v: v.upper() in PIECE_NAMES, f"a piece letter, one of {sorted(PIECE_NAMES)}"),
    "habit": (lambda v: v.upper() in PIECE_NAMES, f"a piece letter, one of {sorted(PIECE_NAMES)}"),
    "mode": (lambda v: v in ("move", "paper"), "'move' or 'paper'"),
    "max_chars": (lambda v: v >= 1, "an integer >= 1"),
    "retries": (lambda v: v >= 1, "an integer >= 1"),
}
# Keys renamed to their config field names; named in the error, not accepted (no published
# file or test writes them).
RENAMED = {"skill": "skill_level", "blind": "blind_spot", "hash": "hash_mb"}
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _coerce(key: str, value: Any, kind_type: Any) -> Any:
    """``value`` (text from a spec string, or already typed) as the field's type, or ValueError."""
    args = [a for a in typing.get_args(kind_type) if a is not type(None)] or [kind_type]
    target = args[0]
    try:
        if target is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in TRUE:
                return True
            if text in FALSE:
                return False
            raise ValueError
        if target is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.strip())
        if target is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        allowed = {bool: "true or false", int: "an integer", float: "a number"}.get(target, "text")
        raise ValueError(f"player parameter {key}={value!r}: must be {allowed}") from None


# -- the registry ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlayerKind:
    """One kind of player: its config dataclass (the spec keys), builder and help line."""

    name: str
    config: type
    build: Callable[["PlayerSpec"], Player]
    help: str
    exclude: tuple[str, ...] = ()  # config fields that are not spec keys

    @property
    def keys(self) -> dict[str, Any]:
        hints = typing.get_type_hints(self.config)
        return {f.name: hints[f.name] for f in fields(self.config) if f.name not in self.exclude}

    def defaults(self) -> dict[str, Any]:
        return {f.name: f.default for f in fields(self.config) if f.name not in self.exclude}


KINDS: dict[str, PlayerKind] = {}


def register(kind: PlayerKind) -> PlayerKind:
    """Add (or replace) a player kind."""
    KINDS[kind.name] = kind
    return kind


def spec_help() -> str:
    """The spec-string help, generated from the registry (CLI epilogs)."""
    lines = ["Player spec strings (kind[:key=value,...]; keys are the config fields):"]
    for k in KINDS.values():
        lines.append(f"  {k.help}")
        lines.append(f"      keys: {', '.join(k.keys)}, name")
    return "\n".join(lines)


# -- specs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlayerSpec:
    """A picklable recipe for a player: ``kind``, checked ``params``, model ``path``, ``name``.

    ``PlayerSpec.parse("stockfish:skill_level=3,nodes=200").build()`` -> a StockfishPlayer.
    ``str(spec)`` is the canonical spec text; ``spec.label`` the display name."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    path: str | None = None  # model checkpoint
    name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown player kind {self.kind!r}; use one of {tuple(KINDS)}\n"
                             f"{spec_help()}")
        if self.kind == "model" and not self.path:
            raise ValueError("a model spec needs a checkpoint path: model:PATH:tau=0.1")
        object.__setattr__(self, "params", _checked(self.kind, self.params, self))
        if self.name is not None:
            object.__setattr__(self, "name", str(self.name))

    @classmethod
    def parse(cls, text: str) -> "PlayerSpec":
        """Parse a spec string (see :func:`spec_help`)."""
        text = text.strip()
        kind, _, rest = text.partition(":")
        kind = kind.strip().lower()
        if kind == "model":
            path, raw = rest, ""
            head, sep, tail = rest.rpartition(":")
            if sep and "=" in tail:
                path, raw = head, tail
            if not path:
                raise ValueError(f"model spec {text!r} needs a checkpoint path: model:PATH:tau=0.1")
            params = _split(raw)
            name = params.pop("name", None)
            return cls("model", params, path=path, name=name)
        if kind == "expert" and rest.startswith("default"):
            _, _, idx = rest.partition(":")
            try:
                i = int(idx or 0)
            except ValueError:
                i = -1
            return cls("expert", {"default": i})
        params = _split(rest)
        name = params.pop("name", None)
        return cls(kind, params, name=name)

    def __str__(self) -> str:
        if self.kind == "expert" and "default" in self.params:
            return f"expert:default:{self.params['default']}"
        items = [f"{k}={v}" for k, v in self.params.items()]
        if self.name:
            items.append(f"name={self.name}")
        body = ",".join(items)
        if self.kind == "model":
            return f"model:{self.path}" + (f":{body}" if body else "")
        return self.kind + (f":{body}" if body else "")

    @property
    def label(self) -> str:
        """The display name (:func:`player_label`)."""
        return player_label(self)

    def build(self) -> Player:
        """Create the player (starts engines / loads the model). Call inside the worker."""
        return KINDS[self.kind].build(self)

    def __call__(self) -> Player:  # a spec is also a factory
        return self.build()


def _split(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        if "=" not in item:
            raise ValueError(f"player parameter {item!r} is not key=value")
        k, v = item.split("=", 1)
        params[k.strip()] = v.strip()
    return params


def _checked(kind: str, params: Mapping[str, Any], spec: PlayerSpec) -> dict[str, Any]:
    """``params`` converted to their fields' types and range-checked (ValueError otherwise)."""
    if kind == "expert" and "default" in params:
        panel = default_experts()
        i = params["default"]
        if set(params) != {"default"} or not isinstance(i, int) or not 0 <= i < len(panel):
            raise ValueError(f"expert:default:I needs I in 0..{len(panel) - 1}, got {dict(params)}")
        return {"default": i}
    keys = KINDS[kind].keys
    unknown = sorted(set(params) - set(keys))
    if unknown:
        hints = [f"{k} is now {RENAMED[k]}" for k in unknown if k in RENAMED]
        raise ValueError(f"unknown parameter(s) {unknown} for a {kind} player"
                         + (f" ({'; '.join(hints)})" if hints else "")
                         + f"; allowed: {', '.join(keys)}, name")
    out = {}
    for k, v in params.items():
        value = _coerce(k, v, keys[k])
        check = CHECKS.get(k)
        if check is not None and value is not None and not check[0](value):
            raise ValueError(f"player parameter {k}={v!r}: must be {check[1]}")
        out[k] = value
    return out


def as_spec(x: "PlayerSpec | str | Callable[[], Player]") -> "PlayerSpec | Callable[[], Player]":
    """Accept a spec string, a PlayerSpec, or any picklable zero-argument factory."""
    if isinstance(x, str):
        return PlayerSpec.parse(x)
    if isinstance(x, PlayerSpec) or callable(x):
        return x
    raise TypeError(f"a player must be a spec string, a PlayerSpec or a factory, got {x!r}")


def spec_text(x: Any) -> str:
    """What a result file records for a player: the canonical spec text (a factory: its name)."""
    return str(x) if isinstance(x, PlayerSpec) else getattr(x, "__qualname__", repr(x))


def spec_identity(text: str) -> Any:
    """What a recorded spec text means: kind, path, name and every config field (defaults filled
    in), so that two texts naming the same player compare equal whatever their key order; text
    that is not a spec (a factory's name) stands for itself."""
    try:
        spec = PlayerSpec.parse(text)
    except ValueError:
        return text
    return (spec.kind, spec.path, spec.name,
            sorted({**KINDS[spec.kind].defaults(), **spec.params}.items(), key=lambda kv: kv[0]))


# -- names -------------------------------------------------------------------------------------
def model_label(prefix: str, tau: float) -> str:
    """The name of a model played at temperature ``tau``: ``model-A-tau0.001``. Every route
    (games, ratings, reward tables) names model players with it."""
    return f"{prefix}-tau{float(tau):g}"


def player_label(spec: "PlayerSpec | Any") -> str:
    """The one display name of a player: its spec's ``name`` if set; else derived from its kind
    and the settings that differ from the defaults (``stockfish-nodes200-skill_level3``); a model
    is :func:`model_label` of ``model-<checkpoint stem>``. A factory: its ``__name__``."""
    if not isinstance(spec, PlayerSpec):
        return getattr(spec, "__name__", repr(spec))
    if spec.name:
        return spec.name
    p, kind = spec.params, spec.kind
    if kind == "expert" and "default" in p:
        return default_experts()[p["default"]].name
    if kind == "random":
        return "random"
    defaults = KINDS[kind].defaults()
    extra = [f"{k}{p[k]}" for k in KINDS[kind].keys if k in p and k != "tau" and p[k] != defaults[k]]
    if kind == "model":
        base = model_label(f"model-{Path(spec.path or '').stem}", p.get("tau", ModelConfig.tau))
        return "-".join([base, *extra])
    return "-".join([kind, *extra])


# -- specs from configs ------------------------------------------------------------------------
def expert_spec(config: ExpertConfig) -> PlayerSpec:
    """The spec of an expert given by its :class:`~minitranscend.players.ExpertConfig` (e.g. the
    experts who wrote a dataset), so that a ladder rates exactly the players the model learned
    from. Used in chapter 6."""
    params: dict[str, Any] = {"eps": config.eps}  # this key order: recorded spec texts stay the same
    for key in ("nodes", "depth", "movetime", "skill_level", "blind_spot", "habit"):
        if getattr(config, key) is not None:
            params[key] = getattr(config, key)
    if config.habit_rate:
        params["habit_rate"] = config.habit_rate
    return PlayerSpec("expert", params, name=config.name)


def model_spec(checkpoint: str | os.PathLike, tau: float, name: str = "model",
               **params: Any) -> PlayerSpec:
    """The spec of a checkpoint played at temperature ``tau``, named :func:`model_label`
    ``(name, tau)``. ``params``: other :class:`ModelConfig` fields (e.g. ``avoid_draws=True``)."""
    return PlayerSpec("model", {"tau": tau, **params}, path=str(checkpoint),
                      name=model_label(name, tau))


# -- builders ----------------------------------------------------------------------------------
def _build_random(spec: PlayerSpec) -> Player:
    return RandomPlayer(name=spec.label, seed=spec.params.get("seed", 0))


def _build_stockfish(spec: PlayerSpec) -> Player:
    c = StockfishConfig(**spec.params)
    limit = SearchLimit(nodes=c.nodes, depth=c.depth, time=c.time) \
        if (c.nodes, c.depth, c.time) != (None, None, None) else SearchLimit(nodes=1000)
    return StockfishPlayer(spec.label, limit, skill_level=c.skill_level, threads=c.threads,
                           hash_mb=c.hash_mb)


def _build_expert(spec: PlayerSpec) -> Player:
    if "default" in spec.params:
        return Expert(default_experts()[spec.params["default"]])
    return Expert(ExpertConfig(spec.label, **spec.params))


def _build_model(spec: PlayerSpec) -> Player:
    # Imported here: torch is loaded only by processes that play a model (matches between
    # engines and experts, and the CLI's start-up, stay free of it).
    from .policy import ModelPlayer
    from .train import load_checkpoint

    if not Path(spec.path).exists():
        raise FileNotFoundError(f"model checkpoint {spec.path!r} not found; train one first "
                                "(minitranscend train) or fix the path")
    model, tokenizer, meta = load_checkpoint(spec.path, device="cpu")
    return ModelPlayer(model, tokenizer, name=spec.label, meta=meta, **spec.params)


register(PlayerKind("random", RandomConfig, _build_random,
                    "random                              uniformly random legal moves"))
register(PlayerKind("stockfish", StockfishConfig, _build_stockfish,
                    "stockfish:skill_level=3,nodes=200   Stockfish (time in s; no limit: nodes=1000)"))
register(PlayerKind("expert", ExpertConfig, _build_expert,
                    "expert:eps=0.2,blind_spot=N         a Stockfish-backed expert "
                    "(players.ExpertConfig); expert:default:I is players.default_experts()[I]",
                    exclude=("name",)))
register(PlayerKind("model", ModelConfig, _build_model,
                    "model:PATH:tau=0.1,avoid_draws=true a checkpoint played by policy.ModelPlayer"))
