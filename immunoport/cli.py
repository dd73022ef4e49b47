"""The ``immunoport`` command: Django's management commands with settings preset.

``immunoport load-lookups`` is ``manage.py load_lookups``; hyphens and underscores
are interchangeable in command names.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "immunoport.settings")
    args = list(sys.argv if argv is None else argv)
    args[0] = "immunoport"
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
