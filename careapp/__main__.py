"""``python -m careapp ...`` is the ``careapp`` command."""
from careapp.cli import main

main()
