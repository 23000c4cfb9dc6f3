"""workbench.sqltext: the one lexer every caller trusts to say where a string literal ends.

A placeholder found inside a literal, or a literal ended too early, is a value pasted
into SQL or a statement rejected for a parameter it does not have; so each rule of the
scanner (quotes, comments, dollar quotes, casts, backslashes by dialect) is pinned here,
and the hostile corpus is run through the one property that matters most: a quoted
literal never hides or invents a placeholder.
"""

from __future__ import annotations

import pytest

from workbench import sqltext as S
from workbench.errors import ParameterError, UsageError

from tests.support import hostile


def names(sql: str, dialect: str = "ansi") -> list[str]:
    return [p.name for p in S.placeholders(sql, dialect)]


# -- placeholders ------------------------------------------------------------------------
@pytest.mark.parametrize("sql, expected", [
    ("select :a, :b_2 from t where x = :a", ["a", "b_2", "a"]),
    ("select ':a' as s, :b", ["b"]),                              # inside a string literal
    ("select 'it''s :a', :b", ["b"]),                             # doubled quote does not end it
    ('select ":a" from t where y = :b', ["b"]),                   # quoted identifier
    ("select `:a` from t where y = :b", ["b"]),                   # backtick identifier
    ("select 1 -- :a\n, :b", ["b"]),                              # line comment ends at the newline
    ("select 1 /* :a \n :c */ , :b", ["b"]),                      # block comment, across lines
    ("select 1 /* never closed :a", []),
    ("select $$ :a $$, :b", ["b"]),                               # PostgreSQL dollar quote
    ("select $fn$ :a $$ :c $fn$, :b", ["b"]),                     # tagged: $$ inside does not end it
    ("select :n::int, x::text from t", ["n"]),                    # :: is a cast, never a placeholder
    ("select a::b", []),
    ("select x:a, t.x :b", ["b"]),                                # :a glued to a word is not one
    ("select 1:a", []),
    ("select :_x, :1", ["_x"]),                                   # a name must not start with a digit
    ("select ':a", []),                                           # unterminated literal runs to the end
])
def test_placeholders_only_outside_literals_identifiers_and_comments(sql, expected):
    assert names(sql) == expected


def test_placeholder_positions_cover_the_colon_and_the_name():
    sql = "select 'x', :abc + :d"
    for p in S.placeholders(sql):
        assert sql[p.start:p.end] == ":" + p.name


def test_backslash_is_ordinary_in_ansi_strings():
    # ANSI: 'a\' is a whole literal (the backslash is a character), so :x after it is a placeholder
    assert names(r"select 'a\', :x") == ["x"]
    # MySQL: \' escapes the quote, so the literal runs on and swallows :x
    assert names(r"select 'a\', :x", "mysql") == []
    assert names(r"select 'a\', :x, ' :y", "mysql") == ["y"]  # ...to the next quote
    assert names(r"select 'a\\', :x", "mysql") == ["x"]  # an escaped backslash, then the quote ends it


def test_postgres_escape_string_reads_backslashes():
    """The real bug: a PostgreSQL E'' literal ending in a backslash, followed by :x."""
    assert names(r"select E'a\'' , :x") == ["x"]    # E'a\'' is a\' : the literal ends at the third quote
    assert names(r"select e'a\\', :x") == ["x"]     # lower-case e, an escaped backslash
    assert names(r"select E'a\', :x ' , :y") == ["y"]  # \' does not end an E'' string
    # only a lone E is the prefix: in `type'...'` or `namE'...'` the quote starts a plain literal
    assert names(r"select some_type'a\', :x") == ["x"]
    assert names(r"select 1 from t where nE'a\', :x") == ["x"]


def test_mysql_double_quoted_strings_take_backslashes_and_hash_comments():
    assert names(r'select "a\", :x', "mysql") == []
    assert names(r'select "a\", :x') == ["x"]           # ANSI: a quoted identifier, no escapes
    assert names("select 1 # :a\n, :b", "mysql") == ["b"]
    assert names("select 1 # :a\n, :b") == ["a", "b"]   # # is no comment outside MySQL


@pytest.mark.parametrize("dialect", ["ansi", "mysql"])
def test_tokens_cover_the_text_outside_white_space(dialect):
    """Every non-space character belongs to exactly one token, in order: nothing is skipped."""
    sql = "select a.\"b\"\"c\", `d`, 'e''f', $$g$$, :h::int -- i\n/* j */ from k"
    last = 0
    for t in S.tokens(sql, dialect):
        assert sql[last:t.start].strip() == "", (last, t)  # only white space between tokens
        assert t.end > t.start
        last = t.end
    assert sql[last:].strip() == ""


# -- check, rewrite ----------------------------------------------------------------------
def test_check_names_a_missing_parameter():
    with pytest.raises(ParameterError) as info:
        S.check("select * from t where id > :since and x = :x", {"x": 1})
    assert ":since" in str(info.value) and "since=" in str(info.value)


def test_check_names_an_unused_parameter():
    with pytest.raises(ParameterError) as info:
        S.check("select :a", {"a": 1, "extra": 2})
    assert "'extra'" in str(info.value) and "not used" in str(info.value)


def test_check_ignores_lookalikes_in_literals():
    assert [p.name for p in S.check("select ':x', :y", {"y": 1})] == ["y"]
    with pytest.raises(ParameterError, match="'x'"):
        S.check("select ':x'", {"x": 1})


def test_rewrite_pyformat_doubles_literal_percent():
    sql = "select :a, '100%' as p, x like '%' || :b"
    out = S.prepare(sql, {"a": 1, "b": 2}, "pyformat")
    assert out == "select %(a)s, '100%%' as p, x like '%%' || %(b)s"
    # and what a driver does with it: pyformat substitution gives back the original text
    assert out % {"a": ":a", "b": ":b"} == sql


def test_rewrite_named_is_the_text_and_dollar_is_duckdbs():
    sql = "select :a, '%' as p, :a + :b"
    assert S.prepare(sql, {"a": 1, "b": 2}, "named") == sql
    assert S.prepare(sql, {"a": 1, "b": 2}, "dollar") == "select $a, '%' as p, $a + $b"


def test_rewritten_sql_runs_in_duckdb_with_the_values_bound():
    import duckdb

    sql = "select :a as a, ':a' as lit, :b || '%' as b"
    out = S.prepare(sql, {"a": 1, "b": "x"}, "dollar")
    assert duckdb.connect().execute(out, {"a": 41, "b": "x"}).fetchall() == [(41, ":a", "x%")]


# -- identifiers, table_refs ----------------------------------------------------------------
def test_identifiers_are_bare_and_quoted_names_not_after_a_dot():
    sql = 'select p.id, "Odd ""Name""", `tick` from app.photos p join scores on true'
    got = S.identifiers(sql, "mysql")
    assert {"p", 'Odd "Name"', "tick", "app", "scores", "select", "from"} <= got
    assert "id" not in got and "photos" not in got  # after a dot: a column or table of a source


def test_identifiers_skip_strings_and_comments():
    got = S.identifiers("select 'secret_df' -- other_df\n/* third_df */, $$ fourth_df $$, :param_df from t")
    assert got == {"select", "from", "t"}


def test_table_refs_follow_from_and_join():
    sql = ('select * from app.photos p\n join "warehouse"."labels" l on true\n'
           "left join (select 1 from inner_t) x on true -- from commented\n, 'from quoted'")
    assert S.table_refs(sql) == ["app.photos", "warehouse.labels", "inner_t"]
    assert S.table_refs("select 1 from /* c */ events") == ["events"]
    assert S.table_refs("select 'from x'") == []


# -- quoting -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", hostile.params(hostile.HOSTILE_NAMES))
def test_quote_ident_round_trips_through_duckdb(name):
    """A quoted hostile name is one identifier: DuckDB makes a column of exactly that name."""
    import duckdb

    q = S.quote_ident(name)
    assert q.startswith('"') and q.endswith('"') and q[1:-1].replace('""', "").count('"') == 0
    con = duckdb.connect()
    con.execute(f"create table t ({q} integer)")
    assert [r[0] for r in con.execute("select column_name from information_schema.columns").fetchall()] == [name]
    # the lexer reads it back as one quoted token holding the name
    (tok,) = [t for t in S.tokens(q)]
    assert (tok.kind, tok.text) == ("quoted", name)


def test_quote_ident_mysql_doubles_backticks():
    assert S.quote_ident("a`b", "mysql") == "`a``b`"
    assert S.quote_ident('a"b', "mysql") == '`a"b`'
    assert S.quote_ident('a"b') == '"a""b"'
    (tok,) = list(S.tokens(S.quote_ident("x`; drop", "mysql"), "mysql"))
    assert (tok.kind, tok.text) == ("quoted", "x`; drop")


@pytest.mark.parametrize("text", hostile.params())
def test_quote_literal_is_the_value_in_duckdb(text):
    import duckdb

    assert duckdb.connect().execute("select " + S.quote_literal(text)).fetchone()[0] == text


@pytest.mark.parametrize("text", hostile.params())
def test_a_quoted_literal_never_hides_or_adds_a_placeholder(text):
    """The property: whatever the text, quote_literal(text) is one string token for the
    lexer, so the only placeholder of the statement is the real one after it."""
    sql = "select " + S.quote_literal(text) + " , :p"
    assert names(sql) == ["p"]
    strings = [t for t in S.tokens(sql) if t.kind == "string"]
    assert len(strings) == 1 and strings[0].text == S.quote_literal(text)


@pytest.mark.parametrize("text, ok", [
    ("photos", True), ("_x1", True), ("A_b", True),
    ("1x", False), ("", False), ("a b", False), ("a.b", False), ("é", False), ("a$", False), (None, False),
    ("x;", False),
    ("x\n", False),  # a regex ending in $ would pass it: fullmatch
])
def test_is_name(text, ok):
    assert S.is_name(text) is ok


def test_check_ident_names_what_and_the_rule():
    assert S.check_ident("photos", "table") == "photos"
    for bad in hostile.HOSTILE:
        if S.is_name(bad):
            continue
        with pytest.raises(UsageError) as info:
            S.check_ident(bad, "target table")
        assert str(info.value).startswith(f"target table {bad!r} is not a plain name")
