"""The typed site table: its schema and file (`table`), and building it from a trial (`build`)."""
