"""``python -m debussy``: the same command line as the ``debussy`` script."""

from debussy.cli import main

if __name__ == "__main__":
    main()
