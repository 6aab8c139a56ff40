"""A small, procedurally generated, typed knowledge graph with made-up names.

Why generate one instead of using Wikidata (as the taxonomy paper does)? Because on a CPU we
want a few hundred entities whose facts *chain* (person -> birthplace -> country -> capital),
whose names no pretrained model has ever seen, and which is a pure function of a seed. Every
entity has a type and a *region* (the country it lies in), the unit of regional expertise.

Relations (head type -> tail type)::

    capital       country -> city          birthplace    person  -> city
    language      country -> language      employer      person  -> company
    currency      country -> currency      headquarters  company -> city
    country       city    -> country       twin city     city    -> city (in another country)
    river         city    -> river

A fact is ``(head, relation, tail)`` with integer entity ids; ``sentence(fact)`` renders it as
"The capital of Velmora is Tarsk." Two-hop facts compose two relations whose types chain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class Relation:
    name: str        # one token
    phrase: str      # how a sentence says it
    head_type: str
    tail_type: str


RELATIONS: tuple[Relation, ...] = (
    Relation("capital", "capital", "country", "city"),
    Relation("language", "language", "country", "language"),
    Relation("currency", "currency", "country", "currency"),
    Relation("country", "country", "city", "country"),
    Relation("river", "river", "city", "river"),
    Relation("twin", "twin city", "city", "city"),
    Relation("birthplace", "birthplace", "person", "city"),
    Relation("employer", "employer", "person", "company"),
    Relation("headquarters", "headquarters", "company", "city"),
)
RELATION_BY_NAME = {r.name: r for r in RELATIONS}
TYPES = ("country", "city", "river", "language", "currency", "company", "person")

# Compositions r2(r1(h)) that are trivially the head itself (the country of the capital of X is X).
DEGENERATE = {("capital", "country")}

ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
          "br", "dr", "kr", "st", "th", "sh", "tr", "gl")
VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ai", "ei", "ou")
CODAS = ("", "", "", "n", "r", "s", "l", "k", "m")


class Fact(NamedTuple):
    head: int
    relation: str
    tail: int


class TwoHop(NamedTuple):
    """``r2(r1(head)) = tail`` through the bridge entity ``bridge = r1(head)``."""
    head: int
    r1: str
    bridge: int
    r2: str
    tail: int


@dataclass
class GraphConfig:
    n_countries: int = 8
    cities_per_country: int = 5
    rivers_per_country: int = 2
    companies_per_country: int = 3
    people_per_city: int = 4
    n_languages: int = 6
    n_currencies: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_countries < 2:
            raise ValueError("n_countries must be >= 2 (twin cities lie in another country)")
        for k in ("cities_per_country", "rivers_per_country", "companies_per_country",
                  "people_per_city", "n_languages", "n_currencies"):
            if getattr(self, k) < 1:
                raise ValueError(f"{k} must be >= 1, got {getattr(self, k)}")


def graph_preset(name: str = "small", seed: int = 0) -> GraphConfig:
    """``"small"``: the chapter's graph (8 countries, about 250 entities and 500 facts);
    ``"large"``: ten times as many countries and everything in them (about 2,500 entities and
    5,000 facts), the same relations and proportions. The paper's graph, renamed Wikidata, has
    about 25k entities and 54.5k edges: ten times larger again."""
    if name == "small":
        return GraphConfig(seed=seed)
    if name == "large":
        return GraphConfig(n_countries=80, n_languages=60, n_currencies=60, seed=seed)
    raise ValueError(f"unknown graph preset {name!r}; choose 'small' or 'large'")


def make_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` unique pronounceable names: 2-3 syllables of onset + vowel (+ coda on the last)."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        k = int(rng.integers(2, 4))
        parts = [ONSETS[rng.integers(len(ONSETS))] + VOWELS[rng.integers(len(VOWELS))]
                 for _ in range(k)]
        name = ("".join(parts) + CODAS[rng.integers(len(CODAS))]).capitalize()
        if name not in seen and 4 <= len(name) <= 12:
            seen.add(name)
            names.append(name)
    return names


@dataclass
class KnowledgeGraph:
    config: GraphConfig
    names: list[str]                 # entity id -> name (unique)
    types: list[str]                 # entity id -> type
    region: list[int]                # entity id -> country index (-1: languages, currencies)
    facts: list[Fact]
    _tail: dict[tuple[str, int], int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._tail = {(f.relation, f.head): f.tail for f in self.facts}
        self._by_type = {t: np.array([i for i, ty in enumerate(self.types) if ty == t]) for t in TYPES}

    @property
    def n_entities(self) -> int:
        return len(self.names)

    @property
    def n_regions(self) -> int:
        return self.config.n_countries

    def of_type(self, t: str) -> np.ndarray:
        """Entity ids of type ``t`` (the candidate answers for a relation with that tail type)."""
        return self._by_type[t]

    def tail(self, relation: str, head: int) -> int:
        return self._tail[(relation, head)]

    def fact_region(self, fact: Fact | TwoHop) -> int:
        """A fact belongs to the region of its head: who knows a city knows its river."""
        return self.region[fact.head]

    def sentence(self, fact: Fact) -> str:
        r = RELATION_BY_NAME[fact.relation]
        return f"The {r.phrase} of {self.names[fact.head]} is {self.names[fact.tail]}."

    def two_hop_sentence(self, q: TwoHop) -> str:
        p1, p2 = RELATION_BY_NAME[q.r1].phrase, RELATION_BY_NAME[q.r2].phrase
        return f"The {p2} of the {p1} of {self.names[q.head]} is {self.names[q.tail]}."

    def two_hops(self) -> list[TwoHop]:
        """Every composition r2(r1(h)) whose types chain (degenerate identities excluded)."""
        out = []
        for f in self.facts:
            for r2 in RELATIONS:
                if r2.head_type == RELATION_BY_NAME[f.relation].tail_type \
                        and (f.relation, r2.name) not in DEGENERATE:
                    out.append(TwoHop(f.head, f.relation, f.tail, r2.name, self.tail(r2.name, f.tail)))
        return out


def generate_graph(config: GraphConfig | None = None) -> KnowledgeGraph:
    """The graph for ``config.seed``: same seed, same graph, names and facts included.

    Used in chapter 8."""
    cfg = config or GraphConfig()
    rng = np.random.default_rng(cfg.seed)
    types: list[str] = []
    region: list[int] = []

    def add(t: str, reg: int) -> int:
        types.append(t)
        region.append(reg)
        return len(types) - 1

    C = cfg.n_countries
    countries = [add("country", c) for c in range(C)]
    languages = [add("language", -1) for _ in range(cfg.n_languages)]
    currencies = [add("currency", -1) for _ in range(cfg.n_currencies)]
    cities = {c: [add("city", c) for _ in range(cfg.cities_per_country)] for c in range(C)}
    rivers = {c: [add("river", c) for _ in range(cfg.rivers_per_country)] for c in range(C)}
    companies = {c: [add("company", c) for _ in range(cfg.companies_per_country)] for c in range(C)}
    all_companies = [x for c in range(C) for x in companies[c]]
    facts: list[Fact] = []
    for c in range(C):
        facts.append(Fact(countries[c], "capital", cities[c][0]))
        facts.append(Fact(countries[c], "language", languages[int(rng.integers(len(languages)))]))
        facts.append(Fact(countries[c], "currency", currencies[int(rng.integers(len(currencies)))]))
        for city in cities[c]:
            facts.append(Fact(city, "country", countries[c]))
            facts.append(Fact(city, "river", int(rng.choice(rivers[c]))))
            other = int(rng.choice([o for o in range(C) if o != c]))
            facts.append(Fact(city, "twin", int(rng.choice(cities[other]))))
        for comp in companies[c]:
            facts.append(Fact(comp, "headquarters", int(rng.choice(cities[c]))))
    for c in range(C):
        for city in cities[c]:
            for _ in range(cfg.people_per_city):
                p = add("person", c)
                facts.append(Fact(p, "birthplace", city))
                # Half work at home, half anywhere: employers link regions.
                pool = companies[c] if rng.random() < 0.5 else all_companies
                facts.append(Fact(p, "employer", int(rng.choice(pool))))
    names = make_names(len(types), rng)
    return KnowledgeGraph(cfg, names, types, region, facts)
