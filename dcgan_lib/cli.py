"""Command line: ``dcgan train``, ``dcgan sample``, ``dcgan book``."""


def main(argv=None) -> int:  # replaced below
    raise SystemExit("not yet")
