"""`lsnet --help` of every verb: defaults said once, in words, where there is one."""
import argparse

import pytest

from lsnet.cli import build_parser


def verbs(parser: argparse.ArgumentParser, prefix: tuple = ()):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from verbs(sub, prefix + (name,))


PARSERS = dict(verbs(build_parser()))


@pytest.mark.parametrize("verb", [v for v in PARSERS if v], ids=" ".join)
def test_help_says_each_default_once_and_never_none(verb):
    parser = PARSERS[verb]
    text = parser.format_help()
    assert "(default: None)" not in text and "(default: False)" not in text
    for action in parser._actions:
        if action.help in (None, argparse.SUPPRESS) or isinstance(action, argparse._StoreConstAction):
            continue  # flags (store_true/const) have no default worth saying
        empty = isinstance(action.default, (list, tuple)) and not action.default  # nothing given: nothing to say
        has_default = action.default not in (None, False, argparse.SUPPRESS) and not empty
        if has_default and not isinstance(action, argparse._HelpAction):
            assert action.help.count("default") == 1, (action.option_strings, action.help)
