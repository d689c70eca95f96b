"""placeholder while being written"""


def add_parser(sub) -> None:
    pass
