"""Keyword queries as admins write them in alert rules.

    (down OR outage OR "not working") AND NOT "down payment"

- words and "quoted phrases" match whole words, case-insensitively;
- AND, OR, NOT (upper case) and parentheses; adjacent terms are ANDed;
- every term of every rule goes into one Aho-Corasick automaton (see handlers.rules),
  so a query is evaluated against the set of terms present in a text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|([^\s()"]+))')


class QueryError(ValueError):
    """The query cannot be parsed; the message says where."""


@dataclass(frozen=True, slots=True)
class Term:
    text: str


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


def normalize_term(text: str) -> str:
    """How terms are compared: lower case, inner whitespace collapsed."""
    return " ".join(text.lower().split())


def _tokens(query: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    query = query.rstrip()
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None or match.end() == pos:
            raise QueryError(f"unbalanced quote at character {pos + 1}")
        lpar, rpar, phrase, word = match.groups()
        if lpar:
            out.append(("(", "("))
        elif rpar:
            out.append((")", ")"))
        elif phrase is not None:
            if not phrase.strip():
                raise QueryError(f'empty phrase "" at character {pos + 1}')
            out.append(("term", phrase))
        elif word in ("AND", "OR", "NOT"):
            out.append((word, word))
        else:
            out.append(("term", word))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("empty query")
        node = self.or_()
        if self.pos != len(self.tokens):
            raise QueryError(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.peek() in ("AND", "NOT", "term", "("):
            if self.peek() == "AND":
                self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_(self) -> Node:
        if self.peek() == "NOT":
            self.take()
            return Not(self.not_())
        return self.atom()

    def atom(self) -> Node:
        kind = self.peek()
        if kind is None:
            raise QueryError("query ends where a term was expected")
        if kind == "(":
            self.take()
            node = self.or_()
            if self.peek() != ")":
                raise QueryError("missing ')'")
            self.take()
            return node
        if kind == "term":
            text = normalize_term(self.take()[1])
            return Term(text)
        raise QueryError(f"unexpected {self.tokens[self.pos][1]!r}")


def parse_query(query: str) -> Node:
    """Parse ``query`` or raise QueryError."""
    return _Parser(_tokens(query)).parse()


def terms(node: Node) -> set[str]:
    """Every term in the query."""
    if isinstance(node, Term):
        return {node.text}
    if isinstance(node, Not):
        return terms(node.child)
    return set().union(*(terms(c) for c in node.children))


def compile_query(node: Node, ids: dict[str, int]) -> Callable[[frozenset[int] | set[int]], bool]:
    """A predicate over the set of term ids present in a text."""
    if isinstance(node, Term):
        term_id = ids[node.text]
        return lambda present: term_id in present
    if isinstance(node, Not):
        child = compile_query(node.child, ids)
        return lambda present: not child(present)
    children = [compile_query(c, ids) for c in node.children]
    if isinstance(node, And):
        return lambda present: all(c(present) for c in children)
    return lambda present: any(c(present) for c in children)
