"""Lexer, parser and syntax tree of the rule expression language.

The language is parsed once, at load, into an immutable tree; definition text is never handed to
`eval`. Every failure is an `ExprError` carrying the column, so a definition author sees where the
mistake is and no input text can crash the loader (a property test feeds it arbitrary text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

MAX_DEPTH = 64  # nesting of parentheses, `not` and unary minus while parsing
MAX_TREE_DEPTH = 150  # the finished tree, flat chains included (1 + 1 + ... is left-deep)
MAX_LENGTH = 4000


class ExprError(Exception):
    """A syntax or type error in one expression; `pos` is a 0-based character offset."""

    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message

    def __str__(self) -> str:
        return f"at column {self.pos + 1}: {self.message}"


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Literal(Node):
    value: object  # Decimal | str | bool


@dataclass(frozen=True)
class Name(Node):
    """`FIELD`, `GROUP.COLUMN`, `form.FIELD` or `form@visit.FIELD`; a bare lower-case name is a form."""

    first: str
    visit: str | None = None
    second: str | None = None


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / = != < <= > >= and or
    left: Node
    right: Node


@dataclass(frozen=True)
class In(Node):
    item: Node
    options: tuple[Node, ...] | None  # a literal set `{a, b}` ...
    container: Node | None  # ... or a multichoice / list expression
    negated: bool = False


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Case(Node):
    whens: tuple[tuple[Node, Node], ...]
    default: Node | None


def walk(node: Node):
    """Yield every node of a tree, parents first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(_children(current)))


# --------------------------------------------------------------------------- lexer

KEYWORDS = {"and", "or", "not", "in", "true", "false", "case", "when", "then", "else", "end"}
_UNICODE_OPS = {"≤": "<=", "≥": ">=", "≠": "!=", "×": "*", "∈": "in"}
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|==|[-+*/=<>(){},.@]|[≤≥≠×∈])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, keyword, op, eof
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            if char in "\"'":
                raise ExprError(pos, "unterminated string")
            raise ExprError(pos, f"unexpected character {char!r}")
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "name" and value in KEYWORDS:
            kind = "keyword"
        if kind == "op":
            value = _UNICODE_OPS.get(value, "=" if value == "==" else value)
            if value == "in":
                kind = "keyword"
        if kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = match.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


def _unquote(token: Token) -> str:
    body = token.text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


# --------------------------------------------------------------------------- parser

_COMPARE = {"=", "!=", "<", "<=", ">", ">="}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def at(self, text: str) -> bool:
        return self.tok.kind in ("op", "keyword") and self.tok.text == text

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise ExprError(self.tok.pos, f"expected {text!r}, found {self._describe()}")
        return self.advance()

    def _describe(self) -> str:
        return "end of expression" if self.tok.kind == "eof" else repr(self.tok.text)

    def nested(self):
        parser = self

        class _Guard:
            def __enter__(self) -> None:
                parser.depth += 1
                if parser.depth > MAX_DEPTH:
                    raise ExprError(parser.tok.pos, f"expression nested more than {MAX_DEPTH} deep")

            def __exit__(self, *exc: object) -> None:
                parser.depth -= 1

        return _Guard()

    # precedence climbing, lowest first
    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise ExprError(0, "empty expression")
        node = self.expr()
        if self.tok.kind != "eof":
            raise ExprError(self.tok.pos, f"unexpected {self._describe()} after a complete expression")
        return node

    def expr(self) -> Node:
        with self.nested():
            return self.or_()

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            pos = self.advance().pos
            node = Binary(pos, "or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            pos = self.advance().pos
            node = Binary(pos, "and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("not"):
            pos = self.advance().pos
            with self.nested():
                return Unary(pos, "not", self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        if self.tok.kind == "op" and self.tok.text in _COMPARE:
            token = self.advance()
            node = Binary(token.pos, token.text, node, self.additive())
            if self.tok.kind == "op" and self.tok.text in _COMPARE:
                raise ExprError(self.tok.pos, "comparisons cannot be chained; join them with 'and'")
            return node
        negated = False
        if self.at("not") and self.tokens[self.index + 1].text == "in":
            self.advance()
            negated = True
        if self.at("in"):
            pos = self.advance().pos
            if self.at("{"):
                self.advance()
                options = self.items("}")
                if not options:
                    raise ExprError(pos, "'in' needs at least one option")
                return In(pos, node, tuple(options), None, negated)
            return In(pos, node, None, self.additive(), negated)
        if self.at("not"):
            raise ExprError(self.tok.pos, "expected 'in' after 'not'")
        return node

    def items(self, closer: str) -> list[Node]:
        items: list[Node] = []
        if self.at(closer):
            self.advance()
            return items
        while True:
            items.append(self.expr())
            if self.at(","):
                self.advance()
                continue
            self.expect(closer)
            return items

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            token = self.advance()
            node = Binary(token.pos, token.text, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            token = self.advance()
            node = Binary(token.pos, token.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text == "-":
            pos = self.advance().pos
            with self.nested():
                return Unary(pos, "-", self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.tok
        if token.kind == "number":
            self.advance()
            return Literal(token.pos, Decimal(token.text))
        if token.kind == "string":
            self.advance()
            return Literal(token.pos, _unquote(token))
        if token.kind == "keyword" and token.text in ("true", "false"):
            self.advance()
            return Literal(token.pos, token.text == "true")
        if token.kind == "keyword" and token.text == "case":
            return self.case()
        if self.at("("):
            self.advance()
            node = self.expr()
            self.expect(")")
            return node
        if token.kind == "name":
            return self.name()
        raise ExprError(token.pos, f"expected a value, found {self._describe()}")

    def name(self) -> Node:
        token = self.advance()
        if self.at("("):
            self.advance()
            return Call(token.pos, token.text, tuple(self.items(")")))
        visit = None
        if self.at("@"):
            self.advance()
            if self.tok.kind != "name":
                raise ExprError(self.tok.pos, "expected a visit id after '@'")
            visit = self.advance().text
            if not self.at("."):
                raise ExprError(self.tok.pos, f"expected '.FIELD' after {token.text}@{visit}")
        second = None
        if self.at("."):
            self.advance()
            if self.tok.kind != "name":
                raise ExprError(self.tok.pos, "expected a field id after '.'")
            second = self.advance().text
        return Name(token.pos, token.text, visit, second)

    def case(self) -> Node:
        pos = self.advance().pos
        whens: list[tuple[Node, Node]] = []
        while self.at("when"):
            self.advance()
            cond = self.expr()
            self.expect("then")
            whens.append((cond, self.expr()))
        if not whens:
            raise ExprError(self.tok.pos, "'case' needs at least one 'when ... then ...'")
        default = None
        if self.at("else"):
            self.advance()
            default = self.expr()
        self.expect("end")
        return Case(pos, tuple(whens), default)


def _children(node: Node) -> list[Node]:
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, In):
        return [node.item, *(node.options or ()), *([node.container] if node.container else [])]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, Case):
        return [x for pair in node.whens for x in pair] + ([node.default] if node.default else [])
    return []


def _check_depth(tree: Node) -> None:
    """Iteratively, so that checking a deep tree cannot itself exhaust the stack."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise ExprError(node.pos, f"expression nested more than {MAX_TREE_DEPTH} levels deep; split it")
        stack.extend((child, depth + 1) for child in _children(node))


def parse(text: str) -> Node:
    """Parse one expression; raises `ExprError` (never anything else) on bad text."""
    if not isinstance(text, str):
        raise ExprError(0, "an expression must be a string")
    if len(text) > MAX_LENGTH:
        raise ExprError(MAX_LENGTH, f"expression longer than {MAX_LENGTH} characters")
    tree = _Parser(text).parse()
    _check_depth(tree)
    return tree
